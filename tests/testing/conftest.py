"""Fixtures for the tests of podium.testing: pytester runs the kits in a pytest of their own."""

pytest_plugins = ["pytester"]
