"""The ``opa`` pack as a library: the policy kit, its input documents, lazy loading."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from podium.plugin import EnvironmentInfo
from podium.testing.conformance import PolicyPackConformance
from podium_opa.inputs import plan_input, workload_input
from podium_opa.modules import library
from podium_opa.pack import OpaPolicies

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "src" / "podium_opa" / "input.schema.json").read_text()
)


class TestOpaPack(PolicyPackConformance):
    @pytest.fixture
    def policy_pack(self) -> OpaPolicies:
        return OpaPolicies(library(True), {"allowed_registries": ["ghcr.io/acme/"]})


def test_the_input_documents_match_their_published_schema(
    tmp_path: Path, podium_platform: Any
) -> None:
    (tmp_path / "web.score.yaml").write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        "    image: ghcr.io/acme/web:1\n    variables:\n      API_TOKEN: literal\n"
        "resources:\n  data:\n    type: volume\n"
    )
    config: dict[str, Any] = {
        "platform": {"name": "schema"},
        "plugins": {"allow": ["local", "opa"]},
        "environments": {"prod": {"tier": "prod", "deployer": "local"}},
        "rules": [{"type": "volume", "provisioner": "local-volume"}],
        "policies": {"opa": "off", "builtin": "off"},
    }
    platform = podium_platform(config=config, load_entrypoints=True)
    plan = platform.plan("prod", [tmp_path / "web.score.yaml"])
    [workload] = platform.load_workloads([tmp_path / "web.score.yaml"])
    env = replace(EnvironmentInfo("schema", "prod", tmp_path), tier="prod", protect_data=True)
    document = workload_input(workload, env)
    jsonschema.validate(document, SCHEMA)
    assert document["workload"]["containers"]["main"]["variables"]["API_TOKEN"] == (
        "<literal value masked>"
    )
    planned = plan_input(plan, env)
    jsonschema.validate(planned, SCHEMA)
    assert {c["action"] for c in planned["plan"]["changes"]} == {"create"}
    rendered = {"kind": "rendered", "environment": document["environment"], "rendered": []}
    jsonschema.validate(rendered, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**document, "extra": 1}, SCHEMA)


def test_regopy_loads_only_when_a_check_runs(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from podium import Platform\n"
        "p = Platform({'plugins': {'allow': ['opa']}}, root=sys.argv[1])\n"
        "assert p.plugins.plugin('opa').status == 'loaded'\n"
        "print('regopy' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False", result.stderr
