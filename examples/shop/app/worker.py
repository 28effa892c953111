"""The shop's worker: writes an order to PostgreSQL and ticks a redis counter, forever.

``--check`` (its readiness probe) exits 0 when both stores answer. With
prometheus-client installed it serves /metrics on $PORT_METRICS.
"""

import os
import sys
import time

from stores import cache, database, key


def check() -> int:
    with database() as conn:
        conn.execute("SELECT 1")
    cache().ping()
    return 0


def main() -> None:
    import metrics  # here, not above: the readiness probe (--check) stays quick

    interval = float(os.environ.get("INTERVAL_SECONDS", "1"))
    if os.environ.get("PORT_METRICS"):
        metrics.serve(int(os.environ["PORT_METRICS"]))
    store = cache()
    with database() as conn:
        print("shop-worker started", flush=True)
        while True:
            conn.execute("INSERT INTO orders DEFAULT VALUES")
            metrics.order_written()
            ticks = store.incr(key("shop:worker-ticks"))
            if ticks % 30 == 1:
                print(f"worker tick {ticks}", flush=True)
            time.sleep(interval)


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(check())
    main()
