"""Adds a note to the shared database every two seconds."""

import os
import time

import psycopg

with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL)")
    print("notes-writer started", flush=True)
    while True:
        conn.execute("INSERT INTO notes (body) VALUES (%s)", (f"note written at {time.ctime()}",))
        time.sleep(2)
