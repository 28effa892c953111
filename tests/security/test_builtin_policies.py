"""The core's ``builtin`` policy pack: levels by tier, floating images, plaintext secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.platform.context import EnvironmentInfo
from podium.security.policies import BuiltinPolicies, image_is_floating
from podium.testing.conformance import PolicyPackConformance

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: {image}
    variables:
      DB_PASSWORD: hunter2
      API_TOKEN: ${{resources.token.value}}
      GREETING: hi
resources:
  token:
    type: secret
    params:
      key: api-token
"""


def findings(tmp_path: Path, image: str, tier: str) -> list[tuple[str, str]]:
    from podium.workload.loader import load_workloads

    path = tmp_path / "score.yaml"
    path.write_text(SCORE.format(image=image))
    workload = load_workloads([path])[0]
    env = EnvironmentInfo("p", tier, tmp_path, tier=tier)
    return sorted((f.policy, f.level) for f in BuiltinPolicies().check_workload(workload, env))


def test_levels_follow_the_tier(tmp_path: Path) -> None:
    assert findings(tmp_path, "python:latest", "dev") == [("builtin.plaintext-secret", "advisory")]
    assert findings(tmp_path, "python", "staging") == [
        ("builtin.no-latest-image", "advisory"),
        ("builtin.plaintext-secret", "advisory"),
    ]
    assert findings(tmp_path, "python:latest", "prod") == [
        ("builtin.no-latest-image", "mandatory"),
        ("builtin.plaintext-secret", "mandatory"),
        ("builtin.probes-required", "advisory"),
    ]


def test_findings_point_at_the_line(tmp_path: Path) -> None:
    from podium.workload.loader import load_workloads

    path = tmp_path / "score.yaml"
    path.write_text(SCORE.format(image="python:3.12"))
    workload = load_workloads([path])[0]
    env = EnvironmentInfo("p", "prod", tmp_path, tier="prod")
    secret = next(
        f for f in BuiltinPolicies().check_workload(workload, env) if "secret" in f.policy
    )
    assert secret.location is not None and secret.location.endswith("score.yaml:8:7")
    assert "DB_PASSWORD" in secret.message and "hunter2" not in secret.message


def test_floating_images() -> None:
    assert image_is_floating("nginx") and image_is_floating("ghcr.io/a/b:latest")
    assert image_is_floating("localhost:5000/app")
    assert not image_is_floating("localhost:5000/app:1.2")
    assert not image_is_floating("app@sha256:abc") and not image_is_floating(".")


class TestBuiltinPoliciesConformance(PolicyPackConformance):
    @pytest.fixture
    def policy_pack(self) -> BuiltinPolicies:
        return BuiltinPolicies()


def test_validate_applies_the_levels_plan_applies(tmp_path: Path) -> None:
    """``[policies]`` levels hold for validate as for plan: a check turned off or made
    advisory must not block validate (nor a mandatory one pass it)."""
    import subprocess
    import sys

    (tmp_path / "podium.toml").write_text(
        '[platform]\nname = "levels"\n\n[environments.prod]\ntier = "prod"\n\n'
        '[policies]\n"builtin.probes-required" = "off"\n'
        '"builtin.plaintext-secret" = "advisory"\n"builtin.no-latest-image" = "advisory"\n'
    )
    (tmp_path / "score.yaml").write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n"
        "    image: python:latest\n    variables:\n      DB_PASSWORD: hunter2\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "podium", "--json", "validate", "-e", "prod", "-f", "score.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    import json

    data = json.loads(proc.stdout)
    levels = sorted((f["policy"], f["level"]) for f in data["findings"])
    assert levels == [
        ("builtin.no-latest-image", "advisory"),
        ("builtin.plaintext-secret", "advisory"),
    ], proc.stderr
    assert proc.returncode == 0, proc.stderr


def test_literal_secret_covers_numbers_and_spares_placeholders() -> None:
    from podium.plugin import literal_secret

    assert literal_secret("DB_PASSWORD", "hunter2")
    assert literal_secret("API_TOKEN", 1234)  # YAML's PASSWORD: 1234 is a number
    assert not literal_secret("DB_PASSWORD", "${resources.db.password}")
    assert not literal_secret("DB_PASSWORD", "")
    assert not literal_secret("GREETING", "hello")
