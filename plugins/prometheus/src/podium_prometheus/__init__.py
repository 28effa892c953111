"""podium-prometheus: metrics, alerts, SLOs and dashboards for every deployed workload.

The plugin module is :mod:`podium_prometheus.plugin`; nothing heavy is imported here.
"""
