"""Plugin discovery, loading, settings and the instrumented hook caller."""
