"""Routes cannot wedge the environment's nginx or take over another workload's host.

Each test performs an attack on the shared nginx of an environment and checks
that it is refused with an error naming the param, and that ``routes.json``
(what later deploys and destroys build on) did not record it.
"""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import WORKLOAD_PYTHON

from podium.plugin import (
    DeployContext,
    EnvironmentInfo,
    RenderedContainer,
    RenderedWorkload,
    ResourceContext,
    ResourceError,
)
from podium_local.deploy.deployer import LocalDeployer
from podium_local.network import port_is_listening
from podium_local.provisioners.route import RouteProvisioner
from podium_local.servers.nginx_proxy import NginxProxy, refresh_routes
from podium_local.settings import Settings

MakeCtx = Callable[..., ResourceContext]


def routes_file(env: EnvironmentInfo) -> Path:
    return env.state_dir / "local" / "nginx" / "routes.json"


def saved_routes(env: EnvironmentInfo) -> dict[str, object]:
    path = routes_file(env)
    return json.loads(path.read_text())["routes"] if path.exists() else {}


def answer(port: int, host: str, path: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def route(make_ctx: MakeCtx, declared_by: str, name: str, **params: object) -> ResourceContext:
    return make_ctx("route", name, workload=declared_by, params={"port": 8080, **params})


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"host": "shop.localhost", "path": "/a\t#"}, "params.path"),
        ({"host": "shop.localhost", "path": "/a;} server {"}, "params.path"),
        ({"host": "shop.localhost", "path": "no-slash"}, "params.path"),
        ({"host": "shop.localhost", "path": "/a\x00b"}, "params.path"),
        ({"host": "shop.localhost;", "path": "/"}, "params.host"),
        ({"host": "a b.localhost", "path": "/"}, "params.host"),
        ({"host": "-x.localhost", "path": "/"}, "params.host"),
        ({"host": "x" * 64 + ".localhost", "path": "/"}, "params.host"),
    ],
)
def test_bad_route_host_or_path_is_refused_and_nothing_saved(
    make_ctx: MakeCtx, env: EnvironmentInfo, params: dict[str, object], bad: str
) -> None:
    with pytest.raises(ResourceError) as caught:
        RouteProvisioner().create(route(make_ctx, "web", "r", **params))
    assert bad in str(caught.value)
    assert not routes_file(env).exists()
    assert not (env.state_dir / "local" / "nginx").exists()


@pytest.mark.nginx
def test_many_long_hosts_fit_the_server_names_hash(make_ctx: MakeCtx, env: EnvironmentInfo) -> None:
    # dns hosts are long ("<platform>-<env>-<uid>-<hash>.localhost"); two were enough
    # to overflow nginx's default server_names_hash_bucket_size.
    provisioner = RouteProvisioner()
    hosts = [f"{'w' * 50}-{i}.{'d' * 60}.{'e' * 60}.localhost" for i in range(40)]
    for i, host in enumerate(hosts):
        provisioner.create(route(make_ctx, f"w{i}", "r", host=host))
    port = NginxProxy(env, Settings()).port()
    assert port is not None
    assert answer(port, hosts[-1], "/") == 502  # routed (the workload is not running)
    assert len(saved_routes(env)) == len(hosts)
    for i in range(len(hosts)):
        provisioner.delete(route(make_ctx, f"w{i}", "r", host=hosts[i]))
    assert not port_is_listening(port)


@pytest.mark.nginx
def test_a_host_belongs_to_the_workload_that_routed_it_first(
    make_ctx: MakeCtx, env: EnvironmentInfo
) -> None:
    provisioner = RouteProvisioner()
    victim = route(make_ctx, "victim", "site", host="victim.localhost", path="/")
    provisioner.create(victim)
    before = saved_routes(env)

    # The attacker's app behind the victim's host: refused, whichever workload it names.
    for params in ({}, {"workload": "victim"}):
        attack = route(
            make_ctx, "attacker", "admin", host="victim.localhost", path="/admin", **params
        )
        with pytest.raises(ResourceError) as caught:
            provisioner.create(attack)
        assert "victim.localhost is routed by workload 'victim'" in str(caught.value)
        assert saved_routes(env) == before

    # The owner may add paths to its own host, not the same path twice.
    provisioner.create(route(make_ctx, "victim", "api", host="victim.localhost", path="/api"))
    with pytest.raises(ResourceError, match="already routed"):
        provisioner.create(route(make_ctx, "victim", "again", host="victim.localhost", path="/api"))
    # A host of its own is fine for the other workload.
    provisioner.create(route(make_ctx, "attacker", "own", host="attacker.localhost"))

    # Once the owner's routes are gone the host is free again.
    provisioner.delete(victim)
    provisioner.delete(route(make_ctx, "victim", "api", host="victim.localhost", path="/api"))
    provisioner.create(route(make_ctx, "attacker", "admin", host="victim.localhost", path="/admin"))
    recorded = saved_routes(env)
    assert {r["owner"] for r in recorded.values()} == {"attacker"}  # type: ignore[index]


@pytest.mark.nginx
def test_routes_are_saved_only_after_nginx_accepts_them(
    make_ctx: MakeCtx, env: EnvironmentInfo, tmp_path: Path
) -> None:
    import shutil

    real = shutil.which("nginx")
    assert real
    # An nginx whose config test fails (as a config it cannot load would).
    picky = tmp_path / "nginx"
    picky.write_text(
        f'#!/bin/sh\nfor a in "$@"; do [ "$a" = -t ] && {{ echo "emerg: no" >&2; exit 1; }}; done\n'
        f'exec {real} "$@"\n'
    )
    picky.chmod(picky.stat().st_mode | stat.S_IXUSR)
    good = route(make_ctx, "web", "r", host="shop.localhost")
    with pytest.raises(ResourceError, match="checking the nginx config failed"):
        RouteProvisioner(Settings(nginx=str(picky))).create(good)
    assert not routes_file(env).exists()

    RouteProvisioner().create(good)
    before = saved_routes(env)
    with pytest.raises(ResourceError):
        RouteProvisioner(Settings(nginx=str(picky))).create(
            route(make_ctx, "web", "r2", host="shop.localhost", path="/two")
        )
    assert saved_routes(env) == before
    RouteProvisioner().delete(good)


@pytest.mark.nginx
def test_a_wedged_route_file_blocks_no_deploy_or_destroy(
    make_ctx: MakeCtx, env: EnvironmentInfo
) -> None:
    provisioner = RouteProvisioner()
    good = route(make_ctx, "web", "r", host="shop.localhost")
    provisioner.create(good)
    # routes.json as an older podium-local left it: a route nginx cannot parse.
    data = json.loads(routes_file(env).read_text())
    data["routes"]["route.default#evil.r"] = {
        "host": "evil.localhost",
        "path": "/a\t#",
        "port": "8080",
        "workload": "evil",
    }
    routes_file(env).write_text(json.dumps(data))
    refresh_routes(env, Settings())  # skips the bad route, does not raise

    # A deploy and a destroy of an unrelated workload, even with nginx unusable.
    broken = LocalDeployer(Settings(nginx="/nonexistent/nginx", readiness_timeout=20))
    workload = RenderedWorkload(
        name="other",
        containers={
            "main": RenderedContainer(
                name="main",
                image="x",
                command=[WORKLOAD_PYTHON, "-c", "import time\nwhile True: time.sleep(1)"],
            )
        },
    )
    ctx = DeployContext(workload="other", env=env, release=1)
    broken.deploy(ctx, workload)
    broken.destroy(ctx)

    # New routes still work and the bad one can be destroyed.
    provisioner.create(route(make_ctx, "web", "r2", host="shop.localhost", path="/two"))
    port = NginxProxy(env, Settings()).port()
    assert port is not None and answer(port, "shop.localhost", "/two") == 502
    provisioner.delete(make_ctx("route", "r", workload="evil", params={}))
    assert "route.default#evil.r" not in saved_routes(env)
    provisioner.delete(good)
    provisioner.delete(route(make_ctx, "web", "r2", host="shop.localhost", path="/two"))
    assert not routes_file(env).exists()
