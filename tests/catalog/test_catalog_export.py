"""``podium catalog export`` writes Backstage entities that Backstage's own schemas accept
(issue 19 item 8), through the real CLI.

The schemas in ``backstage_schemas/`` are Backstage's, copied with attribution (see
``ATTRIBUTION.md`` there). They do not check names and references, which Backstage's
catalog checks in code; the rules it documents are checked here too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from podium.catalog.backstage import (
    TEMPLATE_ANNOTATION,
    TEMPLATE_VERSION_ANNOTATION,
    backstage_entities,
    entity_name,
)
from podium.platform.contract import ResourceRecord

SCHEMAS = Path(__file__).parent / "backstage_schemas"
KIND_SCHEMAS = {
    "System": "SystemV1alpha1",
    "Component": "ComponentV1alpha1",
    "Resource": "ResourceV1alpha1",
}
#: Backstage's documented name rule: [a-zA-Z0-9] runs separated by single [-_.], 1-63 long.
NAME = re.compile(r"^[a-zA-Z0-9]+(?:[-_.][a-zA-Z0-9]+)*$")

API = """\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: example/api:2.0
    variables:
      STORE: ${resources.store.source}
resources:
  store:
    type: volume
"""


@cache
def validators() -> dict[str, jsonschema.Draft7Validator]:
    schemas = [json.loads(p.read_text()) for p in SCHEMAS.rglob("*.schema.json")]
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s, default_specification=DRAFT7)) for s in schemas
    )
    by_id = {s["$id"]: s for s in schemas}
    return {
        kind: jsonschema.Draft7Validator(by_id[schema_id], registry=registry)
        for kind, schema_id in KIND_SCHEMAS.items()
    }


def assert_valid_catalog(entities: list[dict[str, Any]]) -> None:
    """Every entity passes its kind's Backstage schema; names and references are valid."""
    names = {(e["kind"].lower(), e["metadata"]["name"]) for e in entities}
    for entity in entities:
        errors = [e.message for e in validators()[entity["kind"]].iter_errors(entity)]
        assert not errors, (entity["metadata"]["name"], errors)
        assert NAME.match(entity["metadata"]["name"]) and len(entity["metadata"]["name"]) <= 63
        spec = entity["spec"]
        refs = [
            *spec.get("dependsOn", []),
            *([f"system:{spec['system']}"] if "system" in spec else []),
        ]
        for ref in refs:
            kind, _, name = ref.partition(":")
            assert (kind, name) in names, f"{entity['metadata']['name']} refers to missing {ref}"


def deploy(project: Any) -> None:
    (project.root / "payments").mkdir()
    (project.root / "payments" / "api.score.yaml").write_text(API)
    config = project.root / "podium.toml"
    config.write_text(config.read_text() + '\n[teams.payments]\npaths = ["payments/**"]\n')
    files = ("-f", "web.score.yaml", "-f", "payments/api.score.yaml")
    project.podium("up", *files, "--yes", check=True)
    project.podium("up", "-e", "prod", "-f", "web.score.yaml", "--yes", check=True)


def test_the_export_is_a_valid_backstage_catalog_of_the_platform(project: Any) -> None:
    deploy(project)
    done = project.podium("catalog", "export", "--out", "catalog", check=True)
    assert "wrote 6 entities" in done.stdout
    text = (project.root / "catalog" / "catalog-info.yaml").read_text()
    entities = list(yaml.safe_load_all(text))
    assert_valid_catalog(entities)
    by_name = {(e["kind"], e["metadata"]["name"]): e for e in entities}
    assert sorted(by_name) == [
        ("Component", "api"),
        ("Component", "web"),
        ("Resource", "api-store"),
        ("Resource", "web-cache"),
        ("Resource", "web-data"),
        ("System", "enginetest"),
    ]
    system = by_name[("System", "enginetest")]
    assert system["spec"]["owner"] == "group:platform-team"
    web, api = by_name[("Component", "web")], by_name[("Component", "api")]
    # owners from podium.identity: a team, and the platform team for files beside podium.toml
    assert (
        api["spec"]["owner"] == "group:payments" and web["spec"]["owner"] == "group:platform-team"
    )
    assert web["spec"]["dependsOn"] == ["resource:web-cache", "resource:web-data"]
    assert api["spec"]["dependsOn"] == ["resource:api-store"]
    assert by_name[("Resource", "web-cache")]["spec"]["dependsOn"] == ["resource:web-data"]
    assert by_name[("Resource", "api-store")]["spec"]["owner"] == "group:payments"
    assert web["metadata"]["annotations"]["podium.dev/environments"] == "dev,prod"
    assert (web["spec"]["lifecycle"], api["spec"]["lifecycle"]) == ("production", "experimental")
    assert TEMPLATE_VERSION_ANNOTATION not in web["metadata"]["annotations"]
    assert "password" not in text.lower()  # names, types, owners and dependencies only


def test_the_export_prints_and_takes_an_owner_and_environments(project: Any) -> None:
    deploy(project)
    printed = project.podium(
        "catalog", "export", "-e", "prod", "--owner", "group:infra", check=True
    ).stdout
    entities = list(yaml.safe_load_all(printed))
    assert_valid_catalog(entities)
    assert [e["metadata"]["name"] for e in entities if e["kind"] == "Component"] == ["web"]
    assert entities[0]["spec"]["owner"] == "group:infra"
    as_json = project.podium_json("catalog", "export")
    assert_valid_catalog(as_json)
    assert len(as_json) == 6
    unknown = project.podium("catalog", "export", "-e", "nowhere")
    assert unknown.returncode != 0 and "nowhere" in unknown.stderr


def test_a_recorded_template_version_is_exported() -> None:
    deployment = ResourceRecord(
        "deployment:web",
        "deployment",
        "local-process",
        "podium-local",
        {"workload": "web"},
        "h",
        owner="teams/Web Team!",
        attributes={
            "metadata.annotations.podium.dev/template": "python-web",
            "metadata.annotations.podium.dev/template-version": "1.2.0",
        },
    )
    entities = backstage_entities("shop", {"dev": [deployment]})
    assert_valid_catalog(entities)
    component = entities[1]
    annotations = component["metadata"]["annotations"]
    assert annotations[TEMPLATE_ANNOTATION] == "python-web"
    assert annotations[TEMPLATE_VERSION_ANNOTATION] == "1.2.0"
    assert component["spec"]["owner"] == "group:teams-Web-Team"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("web", "web"),
        ("teams/a", "teams-a"),
        ("--a..b__c--", "a.b_c"),
        ("über service", "ber-service"),
        ("!!!", "unnamed"),
        ("x" * 80, "x" * 63),
    ],
)
def test_entity_names_follow_backstage_rules(text: str, name: str) -> None:
    assert entity_name(text) == name and NAME.match(name)
