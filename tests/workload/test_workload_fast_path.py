"""The fast way of loading Score files gives exactly what the careful way gives.

Plain documents are built in one pass and checked with jsonschema-rs; the careful
path (the position-tracking walk, PyYAML's constructor, jsonschema and every check)
runs only for documents that need it. Forcing the careful path for everything must
change nothing: the same workload for a valid file, the same errors, in the same
order, at the same file:line:column, for an invalid one.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_workload_fuzz import SEEDS, mutate

from podium.errors import WorkloadError
from podium.workload import load_workload_text, loader, source
from podium.workload.loader import errors_of
from podium.workload.plain_document import build_plain
from podium.workload.schema_errors import schema_problems, surely_valid

EXAMPLES = Path(__file__).parent / "score_examples"
NAME = "score.yaml"


def outcome(text: str) -> tuple[Any, ...]:
    """What loading ``text`` gives, in comparable form."""
    try:
        workload = load_workload_text(text, NAME)
    except WorkloadError as exc:
        return ("errors", [(str(e.location), e.field, str(e)) for e in errors_of(exc)])
    resources = {
        name: (r.uid, r.params, r.annotations, str(r.location), r.referenced_resources())
        for name, r in workload.resources.items()
    }
    return ("workload", workload.spec, dict(workload.positions), resources)


def careful_outcome(text: str) -> tuple[Any, ...]:
    """What loading ``text`` gives when every document takes the careful path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source, "build_plain", lambda *args, **kwargs: None)
        patch.setattr(loader, "surely_valid", lambda document: False)
        return outcome(text)


def assert_same(text: str) -> tuple[Any, ...]:
    fast = outcome(text)
    assert fast == careful_outcome(text)
    return fast


VALID = """
apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    team: core
containers:
  web:
    image: nginx:1.27
    command: ["/bin/sh", "-c"]
    args: ["exec nginx -g 'daemon off;'"]
    variables:
      DB: postgres://${resources.db.user}@${resources.db.host}:${resources.db.port}/app
      EMPTY: ""
    files:
      /etc/app.conf:
        content: "name=${metadata.name}"
        mode: "0644"
    resources:
      limits:
        memory: 128Mi
        cpu: 250m
service:
  ports:
    www:
      port: 80
      targetPort: 8080
resources:
  db:
    type: postgres
    params:
      extensions: [uuid-ossp, {name: pgcrypto, schema: public}]
      number: 42
      flag: yes
      ratio: 0.5
      hex: 0x1F
      nothing: ~
  cache:
    type: redis
    class: large
    params:
      url: ${resources.db.host}
"""


def test_a_valid_plain_file_loads_to_the_same_workload_both_ways() -> None:
    kind, spec, positions, resources = assert_same(textwrap.dedent(VALID))
    assert kind == "workload"
    assert positions[("resources", "db", "params", "flag")] == (34, 7)
    assert spec["resources"]["db"]["params"]["flag"] is True
    assert spec["resources"]["db"]["params"]["hex"] == 31
    assert resources["cache"][3] == f"{NAME}:38:3"
    assert resources["cache"][4] == frozenset({"db"})


def test_the_plain_builder_builds_what_pyyaml_builds() -> None:
    text = textwrap.dedent(VALID)
    loader_ = source._Loader(text)
    try:
        plain = build_plain(
            loader_.get_single_node(),
            loader_,
            max_nodes=source.MAX_NODES,
            max_depth=source.MAX_DEPTH,
            int_range=source.INT_RANGE,
        )
    finally:
        loader_.dispose()
    assert plain is not None and plain.printable
    assert plain.data == yaml.load(text, Loader=yaml.SafeLoader)


@pytest.mark.parametrize(
    "text",
    [
        # YAML the plain builder leaves to the careful path
        "apiVersion: score.dev/v1b1\nmetadata: {name: a}\nmetadata: {name: b}\ncontainers: {}\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers: {web: {image: x}}\n1: x\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web: {image: x}\n"
        "? [a, b]\n: c\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web, n: 99999999999999999999999}\n"
        "containers: {web: {image: x}}\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web, n: .inf}\ncontainers: {web: {image: x}}\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web, when: 2024-01-02}\n"
        "containers: {web: {image: x}}\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web, b: !!binary aGk=}\n"
        "containers: {web: {image: x}}\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web, x: !custom y}\ncontainers: {web: {image: x}}\n",
        "apiVersion: score.dev/v1b1\nmetadata: &m {name: web}\ncontainers:\n"
        "  web: {image: x, variables: *m}\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: &n web}\ncontainers: {web: {image: *n}}\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\nbase: &b {image: x}\ncontainers:\n"
        "  web:\n    <<: *b\n    command: [a]\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web:\n"
        "    image: x\n    variables: " + "[" * 70 + "]" * 70 + "\n",
        "a: &a [*a]\n",
        "x: &x [a, a]\ny: &y [*x, *x, *x, *x, *x, *x, *x, *x, *x]\n"
        "z: [*y, *y, *y, *y, *y, *y, *y, *y, *y]\nw: [*z, *z, *z, *z, *z, *z, *z, *z, *z]\n"
        "v: [*w, *w, *w, *w, *w, *w, *w, *w, *w]\nu: [*v, *v, *v, *v, *v, *v, *v, *v, *v]\n",
        # control characters in names and values
        'apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  "we\\tb": {image: x}\n',
        'apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web: {image: "x\\n"}\n',
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web:\n    image: |\n"
        "      x\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web:\n    image: x\n"
        '    variables: {A: "a\\x01b", B: "multi\\nline\\ttab"}\n',
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web:\n    image: x\n"
        '    files: {/f: {content: "\\x01\\x02"}}\n',
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web: {image: x}\n"
        'resources: {db: {type: "post\\u0085gres"}}\n',
        # schema errors, Score's own checks and YAML syntax errors
        "apiVersion: score.dev/v1b2\nmetadata: {name: Web_1}\ncontainers: {}\nextra: 1\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web:\n    image: x\n"
        "    resources: {limits: {memory: lots, cpu: fast}}\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web:\n    image: x\n"
        "    files: [{content: a}, {target: /a, content: b}, {target: /a, content: c}]\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web:\n    image: x\n"
        "    files: [{target: /a, content: '${metadata.nope}'}]\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web:\n    image: x\n"
        "    variables: {A: '${resources.nope.x}', B: '${oops}', C: '${}'}\n"
        "resources:\n  a: {type: t, params: {x: '${resources.b.x}'}}\n"
        "  b: {type: t, params: {x: '${resources.a.x}'}}\n  c: {type: t, params: {x: '${resources.c.x}'}}\n",
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  web:\n    image: x\n"
        "    volumes: {/data: {source: /etc}}\n    files: {/x/../y: {source: ../secret}}\n",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  big: '" + "x" * 300_000 + "'\n"
        "containers:\n  web:\n    image: x\n    variables:\n"
        + "".join(f"      V{i}: ${{metadata.big}}\n" for i in range(60)),
        "apiVersion: score.dev/v1b1\nmetadata: {name: web\ncontainers: {}\n",
        "apiVersion: score.dev/v1b1\n---\nmetadata: {}\n",
        "- just\n- a list\n",
        "",
        "# only a comment\n",
    ],
)
def test_unusual_and_invalid_documents_give_the_same_result_both_ways(text: str) -> None:
    assert_same(text)


EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_score_examples_load_the_same_both_ways_and_plain_ones_skip_the_careful_walk(
    path: Path,
) -> None:
    text = path.read_text()
    assert_same(text)
    loader_ = source._Loader(text)
    try:
        node = loader_.get_single_node()
        plain = build_plain(
            node,
            loader_,
            max_nodes=source.MAX_NODES,
            max_depth=source.MAX_DEPTH,
            int_range=source.INT_RANGE,
        )
    finally:
        loader_.dispose()
    if "&" not in text and "<<" not in text:  # no anchors or merges: nothing needs the walk
        assert plain is not None, "a plain Score file took the careful path"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_documents_give_the_same_result_both_ways(seed: str, data: st.DataObject) -> None:
    document = mutate(yaml.safe_load(seed), data)
    assert_same(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SEEDS), st.data())
def test_damaged_text_gives_the_same_result_both_ways(seed: str, data: st.DataObject) -> None:
    text = seed
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.integers(min_value=0, max_value=len(text)))
        cut = data.draw(st.integers(min_value=0, max_value=5))
        insert = data.draw(st.text(alphabet=":-[]{}&*!|>'\"#%@` \n\t$x\\<", max_size=4))
        text = text[:at] + insert + text[at + cut :]
    assert_same(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.data())
def test_jsonschema_rs_accepts_only_what_jsonschema_accepts(seed: str, data: st.DataObject) -> None:
    document = mutate(yaml.safe_load(seed), data)
    if surely_valid(document):
        assert schema_problems(document) == []


def test_loading_valid_files_never_imports_jsonschema(tmp_path: Path) -> None:
    """jsonschema (slow to import and to run) is only for explaining invalid files."""
    path = tmp_path / NAME
    path.write_text(textwrap.dedent(VALID))
    code = textwrap.dedent(
        f"""
        import sys
        from podium.workload import load_workloads
        load_workloads([{str(path)!r}])
        print("jsonschema" in sys.modules, "jsonschema_rs" in sys.modules)
        """
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert shown == ["False", "True"]


def test_deep_positions_of_a_loaded_workload_are_found_when_asked() -> None:
    """The fast build records the top two levels; deeper fields are located on demand."""
    workload = load_workload_text(textwrap.dedent(VALID), NAME)
    assert str(workload.resources["cache"].location) == f"{NAME}:38:3"
    assert str(workload.location("resources", "db", "params", "flag")) == f"{NAME}:34:7"
    assert str(workload.location("containers", "web", "files", "/etc/app.conf", "mode")) == (
        f"{NAME}:18:9"
    )
    assert str(workload.location("resources", "db", "params", "nope")) == f"{NAME}:31:5"
