"""The provisioners against the real servers: create, adopt, read, delete, clean up."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest

from podium.plugin import EnvironmentInfo, ResourceContext, ResourceError, Secret, reveal
from podium_local.network import port_is_listening
from podium_local.ports import PortRegistry
from podium_local.provisioners.basic import (
    DnsProvisioner,
    EnvironmentProvisioner,
    ServicePortProvisioner,
    VolumeProvisioner,
)
from podium_local.provisioners.postgres import PostgresProvisioner
from podium_local.provisioners.redis import RedisProvisioner
from podium_local.provisioners.route import RouteProvisioner
from podium_local.provisioners.secret import SecretProvisioner
from podium_local.settings import Settings

MakeCtx = Callable[..., ResourceContext]


def processes_mentioning(text: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True).stdout
    return [
        line
        for line in out.splitlines()
        if text in line and " Z" not in line and "ps -eo" not in line
    ]


@pytest.mark.postgres
def test_postgres_lifecycle(make_ctx: MakeCtx, env: EnvironmentInfo) -> None:
    import psycopg

    provisioner = PostgresProvisioner()
    first, second = make_ctx("postgres", "db"), make_ctx("postgres", "other")
    assert provisioner.read(first) is None

    outputs = provisioner.create(first)
    assert set(outputs) >= {"host", "port", "name", "database", "username", "password"}
    assert isinstance(outputs["password"], Secret)
    assert provisioner.create(first) == outputs  # idempotent: adopts, same outputs
    assert provisioner.read(first) == outputs
    provisioner.create(second)

    plain = reveal(outputs)
    with psycopg.connect(
        host=plain["host"],
        port=plain["port"],
        user=plain["username"],
        password=plain["password"],
        dbname=plain["database"],
    ) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (plain["database"],)
    with psycopg.connect(plain["uri"]) as conn:
        conn.execute("SELECT 1")

    provisioner.delete(first)
    assert provisioner.read(first) is None
    provisioner.delete(first)  # deleting what is gone succeeds
    data_dirs = [
        p
        for p in processes_mentioning("postgres -D")
        if str(env.state_dir) in p or "podium-local-pg" in p
    ]
    assert data_dirs, "the cluster keeps running while a database remains"

    provisioner.delete(second)
    home = env.state_dir / "local" / "postgres"
    assert not home.exists()
    assert not [
        p for p in processes_mentioning("postgres -D") if home.name in p and str(env.state_dir) in p
    ]
    assert not port_is_listening(plain["port"])


@pytest.mark.redis
def test_redis_lifecycle(make_ctx: MakeCtx, env: EnvironmentInfo) -> None:
    import redis

    provisioner = RedisProvisioner()
    ctx = make_ctx("redis", "cache")
    assert provisioner.read(ctx) is None
    outputs = provisioner.create(ctx)
    assert provisioner.create(ctx) == outputs
    assert isinstance(outputs["password"], Secret)
    plain = reveal(outputs)
    client = redis.Redis(
        host=plain["host"],
        port=plain["port"],
        username=plain["username"],
        password=plain["password"],
    )
    assert client.incr(plain["key_prefix"] + "n") == 1
    client.close()
    # The default user is off: no anonymous access.
    with pytest.raises(redis.RedisError):
        redis.Redis(host=plain["host"], port=plain["port"]).set("x", 1)
    # No password in plaintext in the server's files.
    for path in (env.state_dir / "local").rglob("*"):
        if path.is_file():
            assert plain["password"].encode() not in path.read_bytes(), path
    provisioner.delete(ctx)
    assert provisioner.read(ctx) is None
    assert not (env.state_dir / "local" / "redis").exists()
    assert not port_is_listening(plain["port"])


def test_missing_binary_says_what_to_install(make_ctx: MakeCtx) -> None:
    provisioner = RedisProvisioner(Settings(redis_server="/nonexistent/redis-server"))
    with pytest.raises(ResourceError) as caught:
        provisioner.create(make_ctx("redis"))
    assert "apt-get install redis-server" in str(caught.value)


def test_volume_dns_environment(
    make_ctx: MakeCtx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    volume = VolumeProvisioner()
    ctx = make_ctx("volume", "data")
    assert volume.read(ctx) is None
    out = volume.create(ctx)
    assert Path(out["source"]).is_dir() and volume.read(ctx) == out
    volume.delete(ctx)
    assert not Path(out["source"]).exists()

    dns = DnsProvisioner()
    host = dns.create(make_ctx("dns"))["host"]
    assert host.endswith(".localhost") and host == dns.read(make_ctx("dns"))["host"]
    dns.delete(make_ctx("dns"))
    assert dns.read(make_ctx("dns")) is None

    dotenv = tmp_path / "app.env"
    dotenv.write_text("# comment\nexport GREETING='hello'\nAPI_TOKEN=abc\n")
    monkeypatch.setenv("SHOP_MODE", "fast")
    environment = EnvironmentProvisioner()
    out = environment.create(
        make_ctx("environment", params={"file": str(dotenv), "prefix": "SHOP_"})
    )
    assert out["GREETING"] == "hello" and out["SHOP_MODE"] == "fast"
    assert isinstance(out["API_TOKEN"], Secret)
    dotenv.write_text("not a pair\n")
    with pytest.raises(ResourceError, match=r"app\.env:1"):
        environment.create(make_ctx("environment", params={"file": str(dotenv)}))


def test_service_port_is_shared_with_the_deployer(make_ctx: MakeCtx, env: EnvironmentInfo) -> None:
    provisioner = ServicePortProvisioner()
    ctx = make_ctx("service-port", params={"workload": "backend", "port": "web"})
    assert provisioner.read(ctx) is None
    out = provisioner.create(ctx)
    assert provisioner.read(ctx) == out
    # The deployer asks the registry for the same (workload, port name) later.
    assert PortRegistry.for_env(env).allocate("backend", "web", number=8080) == out["port"]
    with pytest.raises(ResourceError, match="workload"):
        provisioner.create(make_ctx("service-port", params={}))


def test_secret_comes_from_the_platform_store(make_ctx: MakeCtx, env: EnvironmentInfo) -> None:
    from podium.plugin import LocalSecretStore

    provisioner = SecretProvisioner()
    ctx = make_ctx("secret", params={"key": "stripe/api-key"})
    with pytest.raises(ResourceError) as caught:
        provisioner.create(ctx)
    assert "podium secrets set stripe/api-key" in str(caught.value)
    assert provisioner.read(ctx) is None
    store = LocalSecretStore.in_state_dir(env.state_dir.parent)
    store.put("stripe/api-key", Secret("sk_test_123"))
    store.close()
    out = provisioner.create(ctx)
    assert isinstance(out["value"], Secret) and out["value"].reveal() == "sk_test_123"


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {self.path} host={self.headers['Host']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.nginx
def test_route_through_nginx(make_ctx: MakeCtx, env: EnvironmentInfo) -> None:
    from podium_local.servers.nginx_proxy import refresh_routes

    provisioner = RouteProvisioner()
    ctx = make_ctx(
        "route", workload="api", params={"host": "shop.localhost", "path": "/api", "port": 8080}
    )
    outputs = provisioner.create(ctx)
    assert outputs["url"] == f"http://shop.localhost:{outputs['port']}/api"
    request = urllib.request.Request(
        f"http://127.0.0.1:{outputs['port']}/api/x", headers={"Host": "shop.localhost"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:  # workload not deployed yet
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 502

    # "Deploy" the workload: a real server on the port the registry gives it.
    port = PortRegistry.for_env(env).allocate("api", "http", number=8080)
    server = ThreadingHTTPServer(("127.0.0.1", port), _Hello)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        refresh_routes(env, Settings())
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.read().decode() == "hello from /api/x host=shop.localhost"
    finally:
        server.shutdown()
        server.server_close()
    assert provisioner.read(ctx) == outputs
    provisioner.delete(ctx)
    assert provisioner.read(ctx) is None
    assert not port_is_listening(outputs["port"])
    assert not (env.state_dir / "local" / "nginx").exists()


def test_route_needs_host_and_port(make_ctx: MakeCtx) -> None:
    with pytest.raises(ResourceError, match="host"):
        RouteProvisioner().create(make_ctx("route", params={"path": "/"}))
