"""``podium serve``: the self-service HTTP API over :class:`~podium.api.Platform`.

Only :mod:`podium.serve.app` and :mod:`podium.serve.oidc` import the server's own
dependencies (the ``podium[serve]`` extra); the token store and the access rules are
plain modules the ``podium tokens`` commands use too.
"""
