"""podium-local: Podium's embedded default plugin.

Everything runs on this machine, from binaries that are already installed:

* provisioning: PostgreSQL clusters and redis servers per environment, volumes
  (directories), environment values, service ports, ``*.localhost`` names,
  HTTP routes through nginx, and secrets from the platform's secret store;
* deployment: each container becomes a local process supervised by supervisord;
* observability: log files per container, probe-based health, a JSONL event sink;
* security: a built-in policy pack.

The hooks live in :mod:`podium_local.plugin`; every other module is one concern.
Heavy libraries (psycopg, redis, supervisor, cryptography) are imported inside
the functions that use them so that loading the plugin costs almost nothing.
"""

__version__ = "0.1.0"
