"""Per-environment policy levels (issue 13 item 6): ``[environments.<name>.policies]``.

A level in ``[policies]`` applies in every environment; the platform lead needed to relax
a check in dev without weakening prod, and the reverse. The environment's table wins
there; misspelt names and levels are errors with file:line, as in ``[policies]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from podium.api import Platform

# An unpinned image: mandatory in prod by its tier, advisory in staging, silent in dev.
SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web
    readinessProbe:
      httpGet:
        path: /
        port: 8080
"""

ENVIRONMENTS = "[environments.dev]\n[environments.staging]\n[environments.prod]\n"


def podium(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "podium", "--no-plugins", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def project(root: Path, config: str) -> Path:
    (root / "podium.toml").write_text(config)
    (root / "score.yaml").write_text(SCORE)
    return root / "podium.toml"


def levels(cwd: Path, env: str) -> dict[str, str]:
    """The level of each finding ``podium validate -e ENV --json`` reports."""
    result = podium(cwd, "validate", "--json", "-e", env, "-f", "score.yaml")
    assert result.returncode in (0, 5), result.stderr
    return {f["policy"]: f["level"] for f in json.loads(result.stdout)["findings"]}


def test_an_environment_level_wins_over_the_platform_level_there_only(tmp_path: Path) -> None:
    project(
        tmp_path,
        ENVIRONMENTS
        + '\n[policies]\n"builtin.no-latest-image" = "advisory"\n'
        + '\n[environments.prod.policies]\n"builtin.no-latest-image" = "mandatory"\n'
        + '\n[environments.dev.policies]\nbuiltin = "off"\n',
    )
    assert levels(tmp_path, "prod") == {"builtin.no-latest-image": "mandatory"}
    assert levels(tmp_path, "staging") == {"builtin.no-latest-image": "advisory"}
    assert levels(tmp_path, "dev") == {}
    # validate and plan agree: prod is blocked, staging is not
    assert podium(tmp_path, "plan", "-e", "prod", "-f", "score.yaml").returncode == 5
    assert podium(tmp_path, "plan", "-e", "staging", "-f", "score.yaml").returncode == 0


def test_a_platform_wide_level_no_longer_has_to_weaken_prod(tmp_path: Path) -> None:
    """The lead's case: relax the unpinned-image check for staging only; prod keeps its tier."""
    project(
        tmp_path,
        ENVIRONMENTS + '\n[environments.staging.policies]\n"builtin.no-latest-image" = "off"\n',
    )
    assert levels(tmp_path, "staging") == {}
    assert levels(tmp_path, "prod") == {"builtin.no-latest-image": "mandatory"}


def test_the_platform_api_applies_the_environment_levels(tmp_path: Path) -> None:
    path = project(
        tmp_path, ENVIRONMENTS + '\n[environments.prod.policies]\nbuiltin = "advisory"\n'
    )
    with Platform.from_file(path, load_entrypoints=False) as platform:
        plan = platform.plan("prod", [tmp_path / "score.yaml"])
        assert [(f.policy, f.level) for f in plan.findings] == [
            ("builtin.no-latest-image", "advisory")
        ]
        assert not plan.blocking_findings


def test_a_misspelt_policy_in_an_environment_is_an_error_at_its_line(tmp_path: Path) -> None:
    project(
        tmp_path,
        ENVIRONMENTS + '\n[environments.prod.policies]\n"builtin.no-latest-images" = "off"\n',
    )
    result = podium(tmp_path, "validate", "-f", "score.yaml")
    assert result.returncode == 3, result.stderr
    assert "podium.toml:6" in result.stderr
    assert (
        "environments.prod.policies" in result.stderr and "builtin.no-latest-image" in result.stderr
    )
    assert podium(tmp_path, "plan", "-e", "dev", "-f", "score.yaml").returncode == 3


def test_a_misspelt_level_or_environment_key_is_an_error_at_its_line(tmp_path: Path) -> None:
    project(tmp_path, ENVIRONMENTS + '\n[environments.prod.policies]\nbuiltin = "mandtory"\n')
    result = podium(tmp_path, "validate", "-f", "score.yaml")
    assert result.returncode == 3 and "podium.toml:6" in result.stderr, result.stderr
    assert "'mandtory'" in result.stderr

    project(tmp_path, "[environments.dev]\n[environments.prod]\nprotect_dta = true\n")
    result = podium(tmp_path, "validate", "-f", "score.yaml")
    assert result.returncode == 3 and "podium.toml:3" in result.stderr, result.stderr
    assert "protect_data" in result.stderr  # the allowed keys are listed
