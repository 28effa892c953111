"""The ``podium`` command line: a thin shell over :mod:`podium.api`."""
