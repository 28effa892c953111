"""Fixtures for the tests of podium.testing: pytester runs the kits in a pytest of their own."""

from podium.security.crypto import StateCipher, generate_key

pytest_plugins = ["pytester"]

# pytester's in-process runs drop the modules a run imported; cryptography's OpenSSL
# bindings cannot be imported twice in one process ("cipher AES in CBC mode is not
# supported"), so they are loaded here, once, before any kit run.
StateCipher(generate_key(), source="warm-up").encrypt("warm-up")
