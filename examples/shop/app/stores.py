"""Connections to the shop's PostgreSQL and redis, configured from the environment."""

import os

import psycopg
import redis

SCHEMA = "CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, created_at timestamptz DEFAULT now())"


def database() -> psycopg.Connection:
    conn = psycopg.connect(
        host=os.environ["DB_HOST"],
        port=int(os.environ["DB_PORT"]),
        dbname=os.environ["DB_NAME"],
        user=os.environ["DB_USER"],
        password=os.environ["DB_PASSWORD"],
        connect_timeout=5,
        autocommit=True,
    )
    # web and worker start together: CREATE TABLE IF NOT EXISTS is not safe against a
    # concurrent twin (one fails with DuplicateTable), so they take turns under a lock.
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('shop-schema'))")
        conn.execute(SCHEMA)
    return conn


def key(name: str) -> str:
    """A redis key of ours: the platform gives each redis user a prefix it may use."""
    return os.environ.get("REDIS_KEY_PREFIX", "") + name


def cache() -> redis.Redis:
    return redis.Redis(
        host=os.environ["REDIS_HOST"],
        port=int(os.environ["REDIS_PORT"]),
        username=os.environ["REDIS_USER"],
        password=os.environ["REDIS_PASSWORD"],
        socket_timeout=5,
        decode_responses=True,
    )
