"""``podium status`` names the workload template (and version) a deployed workload came from."""

from __future__ import annotations

from typing import Any

from podium.api import Platform

ANNOTATED = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    podium.dev/template: python-web
    podium.dev/template-version: "{version}"
containers:
  main:
    image: example/web:1.0
resources:
  data:
    type: volume
"""


def test_status_shows_the_template_version_that_was_deployed(
    project: Any, fake_module: Any
) -> None:
    score = project.root / "web.score.yaml"
    other = project.root / "api.score.yaml"
    other.write_text(score.read_text().replace("name: web", "name: api"))  # no template
    score.write_text(ANNOTATED.format(version="1.0.0"))
    with Platform.from_file(
        project.root / "podium.toml", plugins=[("fake", fake_module)], load_entrypoints=False
    ) as platform:
        assert platform.up("dev", [score, other])[1].ok
        by_name = {s.workload: s for s in platform.status("dev")}
        assert by_name["web"].template == "python-web 1.0.0"
        assert by_name["api"].template is None

        # A template update changes the annotation: the next deploy records it.
        score.write_text(ANNOTATED.format(version="1.1.0"))
        assert platform.up("dev", [score, other])[1].ok
        assert platform.status("dev", "web")[0].template == "python-web 1.1.0"


def test_status_json_keeps_its_keys_and_adds_the_template(project: Any) -> None:
    score = project.root / "web.score.yaml"
    score.write_text(ANNOTATED.format(version="2.0.0"))
    project.podium("up", "--yes", check=True, timeout=120)
    (status,) = project.podium_json("status")
    assert {"workload", "state", "message", "urls", "containers"} <= set(status)
    assert status["template"] == "python-web 2.0.0"
    assert "[python-web 2.0.0]" in project.podium("status", check=True).stdout
