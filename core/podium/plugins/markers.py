"""The pluggy markers for Podium's hooks.

Plugin authors import :data:`hookimpl` (re-exported as ``podium.hookimpl``)::

    from podium import hookimpl

    @hookimpl
    def podium_provisioners(settings):
        return [MyBucketProvisioner(settings)]
"""

import pluggy

PROJECT_NAME = "podium"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
