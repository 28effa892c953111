"""The aws-secretsmanager store against moto."""

from __future__ import annotations

from typing import Any

import pytest

from podium.plugin import InputError, NotFoundError, Secret
from podium_aws.clients import AwsClients
from podium_aws.secretstore import SecretsManagerStore
from podium_aws.settings import Settings


def test_put_get_list_delete_round_trip(settings: Settings, clients: AwsClients, boto: Any) -> None:
    store = SecretsManagerStore(settings, clients, "shop")
    assert store.list() == []
    store.put("stripe/key", Secret("sk_1"))
    store.put("db-admin", Secret("hunter2"))
    assert store.get("stripe/key") == Secret("sk_1")
    assert store.list() == ["db-admin", "stripe/key"]

    store.put("stripe/key", Secret("sk_2"))
    assert store.get("stripe/key").reveal() == "sk_2"
    described = boto("secretsmanager").describe_secret(SecretId="podium/shop/store/stripe/key")
    tags = {t["Key"]: t["Value"] for t in described["Tags"]}
    assert tags["podium:platform"] == "shop" and tags["team"] == "platform"

    store.delete("stripe/key")
    store.delete("stripe/key")  # missing is fine
    with pytest.raises(NotFoundError, match="stripe/key"):
        store.get("stripe/key")
    assert store.list() == ["db-admin"]
    store.put("stripe/key", Secret("sk_3"))  # the name is free again at once
    assert store.get("stripe/key").reveal() == "sk_3"


def test_platforms_do_not_see_each_others_secrets(settings: Settings, clients: AwsClients) -> None:
    shop = SecretsManagerStore(settings, clients, "shop")
    blog = SecretsManagerStore(settings, clients, "blog")
    shop.put("token", Secret("a"))
    assert blog.list() == []
    with pytest.raises(NotFoundError):
        blog.get("token")


def test_invalid_keys_are_refused_before_calling_aws(
    settings: Settings, clients: AwsClients
) -> None:
    with pytest.raises(InputError, match="not valid"):
        SecretsManagerStore(settings, clients, "shop").put("has space", Secret("x"))


def test_environment_values_and_versions(settings: Settings, clients: AwsClients) -> None:
    from podium.plugin import EnvironmentSecrets, SecretVersion

    store = SecretsManagerStore(settings, clients, "shop")
    assert store.scoped
    assert store.put_in("token", Secret("everywhere"), None) == 1
    assert store.put_in("token", Secret("rotated"), None) == 2
    assert store.put_in("token", Secret("rotated"), None) == 2  # same value: no new version
    assert store.put_in("token", Secret("prod-only"), "prod") == 1
    assert store.versions(None) == [SecretVersion("token", 2)]
    assert store.versions("prod") == [SecretVersion("token", 1, "prod")]
    assert store.list() == ["token"]  # platform-wide keys only
    prod, dev = EnvironmentSecrets(store, "prod"), EnvironmentSecrets(store, "dev")
    assert prod.get("token").reveal() == "prod-only" and dev.get("token").reveal() == "rotated"
    before = prod.resolve("token")
    assert before is not None and before.environment == "prod" and before.revision
    store.delete_in("token", "prod")
    store.put_in("token", Secret("prod-again"), "prod")
    after = prod.resolve("token")
    # The number restarts after a delete, but the revision tells the values apart.
    assert after is not None and after.version == 1 and after.revision != before.revision
    store.delete_in("token", "prod")
    assert prod.get("token").reveal() == "rotated"  # back to the platform-wide value
    with pytest.raises(InputError, match="environment name"):
        store.put_in("token", Secret("x"), "bad/env")
