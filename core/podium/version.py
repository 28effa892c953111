"""Versions: the distribution's and the plugin API's.

``API_VERSION`` is the version of the hook contracts. A plugin declares the range
it supports (``PODIUM_API = ">=1.1,<2"``); the core refuses a plugin whose range
excludes it. Bump the minor for additive changes, the major for breaking ones.
"""

__version__ = "0.1.0"
API_VERSION = "1.3"
