"""Podman's ``shell`` secret driver, backed by Podium's encrypted secret store.

Podman runs ``python -m podium_podman.secret_driver <store dir> <op>`` with the
secret's id in ``SECRET_ID``: ``store`` reads the value on stdin, ``lookup`` prints
it, ``delete`` removes it, ``list`` prints every id. The values live only in a
:class:`~podium.plugin.LocalSecretStore` (encrypted with its own key, 0600) in the
deployer's state directory — never in Podman's default file driver store, in a
container's configuration or in labels.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from podium.plugin import LocalSecretStore, Secret

    if len(argv) != 2 or argv[1] not in ("store", "lookup", "delete", "list"):
        print("usage: secret_driver <store dir> store|lookup|delete|list", file=sys.stderr)
        return 2
    store = LocalSecretStore.in_state_dir(Path(argv[0]))
    try:
        operation = argv[1]
        if operation == "list":
            for key in store.list():
                print(key)
            return 0
        key = os.environ.get("SECRET_ID", "")
        if not key:
            print("SECRET_ID is not set", file=sys.stderr)
            return 2
        if operation == "store":
            store.put(key, Secret(sys.stdin.buffer.read().decode()))
        elif operation == "lookup":
            sys.stdout.write(store.get(key).reveal())
        else:
            store.delete(key)
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
