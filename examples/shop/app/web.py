"""The shop's web front: /health proves it reached PostgreSQL and redis.

GET /health (and /) answers JSON with the number of orders the worker wrote to
PostgreSQL, the worker's tick counter and this app's visit counter from redis.
GET /metrics is the Prometheus scrape when prometheus-client is installed.
It listens on $PORT, which the platform allocates.
"""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import metrics
from stores import cache, database, key


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        started = time.perf_counter()
        if self.path == "/metrics":
            self.metrics()
            return
        if self.path not in ("/", "/health"):
            self.send_error(404)
            metrics.observe("GET", "other", 404, started)
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
        metrics.observe("GET", "/health", status, started)

    def metrics(self) -> None:
        """Prometheus' scrape (404 without prometheus-client)."""
        page = metrics.exposition()
        if page is None:
            self.send_error(404)
            return
        body, content_type = page
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the log for the app's own messages


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    print(f"shop-web listening on http://127.0.0.1:{port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
