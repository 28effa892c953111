"""Resource schemas through the real ``podium`` CLI: validate and plan refuse, with
file:line:column and the valid names, a placeholder naming an undeclared output and a
param of the wrong type -- for a third-party plugin with a schema and a 0.1 plugin (the
first-party ones: plugins/*/tests) -- and ``podium schema resource`` prints what they
declare.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from schema_project import SchemaProject

STORE_WORKLOAD = """\
apiVersion: score.dev/v1b1
metadata:
  name: shop
  annotations:
    quota: "500"
containers:
  web:
    image: shop/web:1
    variables:
      BUCKET: ${resources.store.bucket}
      KEY: ${resources.store.acces_key}
resources:
  store:
    type: objstore
    params:
      quota_mb: lots
"""


def lines_of(result_text: str) -> list[str]:
    return [line for line in result_text.splitlines() if line.strip()]


def test_third_party_schema_refuses_a_typo_and_a_wrong_type_at_validate(
    project: SchemaProject,
) -> None:
    project.write("score.yaml", STORE_WORKLOAD)
    result = project.podium("validate", "-f", "score.yaml")
    assert result.returncode == 3, result.stdout + result.stderr
    errors = result.stderr
    # Both problems in one run, each at its file:line:column.
    assert (
        "score.yaml:11:7: containers.web.variables.KEY: placeholder ${resources.store.acces_key}: "
        "resource 'store' (objstore, provisioner 'objstore') has no output 'acces_key'; "
        "did you mean 'access_key'? available: access_key, bucket, endpoint, secret_key"
    ) in errors, errors
    assert (
        "score.yaml:16:7: resources.store.params.quota_mb: resource 'store' (objstore, "
        "provisioner 'objstore'): param 'quota_mb': Input should be a valid integer"
    ) in errors, errors
    assert "(found 'lots')" in errors
    assert "Traceback" not in errors


def test_plan_refuses_the_same_before_anything_exists(project: SchemaProject) -> None:
    project.write("score.yaml", STORE_WORKLOAD)
    result = project.podium("plan", "-f", "score.yaml")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "score.yaml:11:7" in result.stderr and "score.yaml:16:7" in result.stderr
    assert not (project.root / ".podium" / "dev" / "objstore").exists()


def test_json_errors_carry_field_and_location(project: SchemaProject) -> None:
    project.write("score.yaml", STORE_WORKLOAD)
    result = project.podium("--json", "validate", "-f", "score.yaml")
    assert result.returncode == 3
    report = json.loads(result.stderr.strip().splitlines()[-1])
    located = {(e["field"], e["file"], e["line"]) for e in report["errors"]}
    assert ("containers.web.variables.KEY", "score.yaml", 11) in located, report
    assert ("resources.store.params.quota_mb", "score.yaml", 16) in located, report


def test_a_correct_workload_passes_and_placeholder_params_wait_for_apply(
    project: SchemaProject,
) -> None:
    fixed = STORE_WORKLOAD.replace("acces_key", "access_key").replace(
        "quota_mb: lots", 'quota_mb: "${metadata.annotations.quota}"'
    )
    project.write("score.yaml", fixed)
    result = project.podium("validate", "-f", "score.yaml")
    assert result.returncode == 0, result.stderr
    plan = project.json("plan", "-f", "score.yaml")
    assert [c["action"] for c in plan["changes"]] == ["create"], plan


def test_unknown_param_is_named_with_a_suggestion(project: SchemaProject) -> None:
    project.write(
        "score.yaml",
        STORE_WORKLOAD.replace("quota_mb: lots", "quota_mbs: 5").replace("acces_", "access_"),
    )
    result = project.podium("validate", "-f", "score.yaml")
    assert result.returncode == 3
    assert (
        "score.yaml:16:7: resources.store.params.quota_mbs: resource 'store' (objstore, "
        "provisioner 'objstore'): unknown param 'quota_mbs'; did you mean 'quota_mb'? "
        "available: label, quota_mb, tier"
    ) in result.stderr, result.stderr


def test_a_rules_bad_param_is_a_config_error_at_its_line(project: SchemaProject) -> None:
    config = (
        (project.root / "podium.toml")
        .read_text()
        .replace(
            'provisioner = "objstore"\n',
            'provisioner = "objstore"\nparams = { quota_mb = "big" }\n',
        )
    )
    project.write("podium.toml", config)
    project.write(
        "score.yaml",
        STORE_WORKLOAD.replace("    params:\n      quota_mb: lots\n", "").replace(
            "acces_", "access_"
        ),
    )
    result = project.podium("validate", "-f", "score.yaml")
    assert result.returncode == 3, result.stderr
    line = config.splitlines().index('params = { quota_mb = "big" }') + 1
    assert f"podium.toml:{line}:" in result.stderr, result.stderr
    assert "rules.0.params.quota_mb" in result.stderr
    assert "rules[0] sets a bad param for resource 'store'" in result.stderr
    # The workload's own value wins over the rule's: then only the workload is checked.
    project.write("score.yaml", STORE_WORKLOAD.replace("lots", "5").replace("acces_", "access_"))
    assert project.podium("validate", "-f", "score.yaml").returncode == 0


def test_a_crashing_params_model_is_the_plugins_fault(project: SchemaProject) -> None:
    project.write(
        "score.yaml",
        STORE_WORKLOAD.replace("quota_mb: lots", "label: explode").replace("acces_", "access_"),
    )
    result = project.podium("validate", "-f", "score.yaml")
    assert result.returncode == 4, result.stderr
    assert "plugin 'objstore' (podium-objstore 0.1.0)" in result.stderr
    assert "the label validator itself is broken" in result.stderr


LEGACY_WORKLOAD = """\
apiVersion: score.dev/v1b1
metadata:
  name: worker
containers:
  main:
    image: worker:1
    variables:
      QUEUE: ${resources.jobs.urll}
      ANYTHING: ${resources.blob.whatever}
resources:
  jobs:
    type: queue
  blob:
    type: opaque
"""


def test_01_declarations_are_checked_and_undeclared_stay_unchecked(
    project: SchemaProject,
) -> None:
    project.write("score.yaml", LEGACY_WORKLOAD)
    result = project.podium("validate", "-f", "score.yaml")
    assert result.returncode == 3, result.stderr
    assert (
        "score.yaml:8:7: containers.main.variables.QUEUE: placeholder ${resources.jobs.urll}: "
        "resource 'jobs' (queue, provisioner 'legacy-queue') has no output 'urll'; "
        "did you mean 'url'? available: name, token, url"
    ) in result.stderr, result.stderr
    # legacy-opaque declares no outputs: nothing is invented about 'whatever'.
    assert "whatever" not in result.stderr
    project.write("score.yaml", LEGACY_WORKLOAD.replace("urll", "url"))
    assert project.podium("validate", "-f", "score.yaml").returncode == 0


def test_schema_resource_prints_a_table_and_json_schema(project: SchemaProject) -> None:
    text = project.ok("schema", "resource", "objstore").stdout
    assert "objstore: provisioner objstore (plugin objstore; classes: all)" in text
    assert "params (unknown ones are refused):" in text
    rows = {line.split()[0]: line for line in lines_of(text) if line.startswith("    ")}
    assert "int" in rows["quota_mb"] and "100" in rows["quota_mb"]
    assert "forces replacement" in rows["tier"]
    assert "sensitive" in rows["secret_key"] and "sensitive" not in rows["bucket"]

    document = project.json("schema", "resource", "objstore")
    assert document["type"] == "objstore"
    [schema] = document["provisioners"]
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["x-podium-provisioner"] == "objstore"
    assert schema["x-podium-plugin"] == "objstore"
    params = schema["properties"]["params"]
    assert params["properties"]["tier"]["x-podium-forces-replacement"] is True
    outputs = schema["properties"]["outputs"]["properties"]
    assert outputs["secret_key"]["x-podium-sensitive"] is True
    assert outputs["bucket"]["readOnly"] is True
    good = {"params": {"quota_mb": 5}, "outputs": {k: "x" for k in outputs}}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"params": {"quota_mb": "lots"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"outputs": {**good["outputs"], "acces_key": "x"}}, schema)


def test_schema_resource_for_01_and_undeclared_provisioners(project: SchemaProject) -> None:
    text = project.ok("schema", "resource", "queue").stdout
    assert "params: not declared (unchecked)" in text
    assert "fifo" in text and "forces replacement" in text
    assert "token" in text and "sensitive" in text
    opaque = project.ok("schema", "resource", "opaque").stdout
    assert "outputs: not declared (placeholders naming them are not checked)" in opaque
    [schema] = project.json("schema", "resource", "opaque")["provisioners"]
    assert schema["properties"]["outputs"]["additionalProperties"] is True


def test_schema_resource_errors(project: SchemaProject) -> None:
    missing = project.podium("schema", "resource", "nosuch")
    assert missing.returncode == 9
    assert "types served: objstore, opaque, queue" in missing.stderr
    wrong = project.podium("schema", "resource", "queue", "--provisioner", "objstore")
    assert wrong.returncode == 9
    assert "its provisioners: legacy-queue" in wrong.stderr
