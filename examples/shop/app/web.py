"""The shop's web front: /health proves it reached PostgreSQL and redis.

GET /health (and /) answers JSON with the number of orders the worker wrote to
PostgreSQL, the worker's tick counter and this app's visit counter from redis.
It listens on $PORT, which the platform allocates.
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stores import cache, database, key


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path not in ("/", "/health"):
            self.send_error(404)
            return
        try:
            with database() as conn:
                orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
            store = cache()
            visits = store.incr(key("shop:visits"))
            ticks = int(store.get(key("shop:worker-ticks")) or 0)
            body = {
                "status": "ok",
                "greeting": os.environ.get("GREETING", ""),
                "orders": orders,
                "worker_ticks": ticks,
                "visits": visits,
            }
            status = 200
        except Exception as exc:  # report, do not crash: the probe shows the reason
            body, status = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}, 503
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the log for the app's own messages


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    print(f"shop-web listening on http://127.0.0.1:{port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
