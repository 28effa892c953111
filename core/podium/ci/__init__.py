"""Generated CI/CD pipelines (``podium ci generate github|gitlab``).

:mod:`podium.ci.pipeline` says what every pipeline does; :mod:`podium.ci.github` and
:mod:`podium.ci.gitlab` write it for each system.
"""
