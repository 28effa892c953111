"""Tenants of one environment's PostgreSQL and redis cannot reach each other.

One server of each kind serves every workload of an environment; these tests
log in as one workload's user and attack another's data.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from podium.plugin import EnvironmentInfo, ResourceContext, reveal
from podium_local.provisioners.postgres import PostgresProvisioner
from podium_local.provisioners.redis import RedisProvisioner

MakeCtx = Callable[..., ResourceContext]


@pytest.mark.redis
def test_redis_user_is_confined_to_its_key_prefix_and_harmless_commands(
    make_ctx: MakeCtx, env: EnvironmentInfo
) -> None:
    import redis

    provisioner = RedisProvisioner()
    mine, theirs = (
        make_ctx("redis", "cache", workload="a"),
        make_ctx("redis", "cache", workload="b"),
    )
    out_a, out_b = reveal(provisioner.create(mine)), reveal(provisioner.create(theirs))
    assert out_a["key_prefix"] == out_a["username"] + ":"

    def login(out: dict[str, object]) -> redis.Redis:
        return redis.Redis(
            host=str(out["host"]),
            port=int(str(out["port"])),
            username=str(out["username"]),
            password=str(out["password"]),
            decode_responses=True,
        )

    a, b = login(out_a), login(out_b)
    try:
        # Own keys and channels work (what an app such as examples/shop needs).
        own = out_a["key_prefix"] + "visits"
        assert a.incr(own) == 1 and a.get(own) == "1" and a.ping()
        assert a.publish(out_a["key_prefix"] + "events", "hi") == 0
        b.set(out_b["key_prefix"] + "secret", "b's data")

        attacks: list[Callable[[], object]] = [
            lambda: a.get(out_b["key_prefix"] + "secret"),
            lambda: a.set(out_b["key_prefix"] + "secret", "overwritten"),
            lambda: a.get("unprefixed"),
            lambda: a.publish(out_b["key_prefix"] + "events", "x"),
            lambda: a.execute_command("ACL", "LIST"),
            lambda: a.execute_command("ACL", "SETUSER", out_b["username"], "off"),
            lambda: a.execute_command("ACL", "GETUSER", out_b["username"]),
            lambda: a.config_get("*"),
            lambda: a.keys("*"),
            lambda: a.scan(),
            lambda: a.randomkey(),
            lambda: a.flushall(),
            lambda: a.flushdb(),
            lambda: a.execute_command("CLIENT", "LIST"),
            lambda: a.execute_command("SAVE"),
            lambda: a.execute_command("MONITOR"),
            lambda: a.execute_command("SHUTDOWN", "NOSAVE"),
        ]
        for attack in attacks:
            with pytest.raises(redis.exceptions.NoPermissionError):
                attack()
        assert b.get(out_b["key_prefix"] + "secret") == "b's data"
        assert b.ping()  # b's user is still on
    finally:
        a.close()
        b.close()
    provisioner.delete(mine)
    provisioner.delete(theirs)


@pytest.mark.postgres
def test_a_workload_role_cannot_connect_to_another_workloads_database(
    make_ctx: MakeCtx, env: EnvironmentInfo
) -> None:
    import psycopg

    provisioner = PostgresProvisioner()
    mine, theirs = (
        make_ctx("postgres", "db", workload="a"),
        make_ctx("postgres", "db", workload="b"),
    )
    out_a, out_b = reveal(provisioner.create(mine)), reveal(provisioner.create(theirs))

    def connect(out: dict[str, object], dbname: str) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(out["host"]),
            port=int(str(out["port"])),
            user=str(out["username"]),
            password=str(out["password"]),
            dbname=dbname,
            connect_timeout=5,
        )

    with connect(out_a, str(out_a["database"])) as conn:
        conn.execute("CREATE TABLE mine (x int)")  # its own database is fully usable
    for target in (str(out_b["database"]), "postgres", "template1"):
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            connect(out_a, target)
    with connect(out_b, str(out_b["database"])) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (out_b["username"],)
    provisioner.delete(mine)
    provisioner.delete(theirs)
