"""Bad Score input: every error names its class, file, line and field, in actionable words."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from podium.errors import ExitCode, InputError, WorkloadError
from podium.workload import load_workload_file, load_workload_text, load_workloads
from podium.workload.loader import WorkloadErrors, errors_of
from podium.workload.source import MAX_BYTES


def write(tmp_path: Path, text: str, name: str = "score.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def failures(path: Path) -> list[InputError]:
    with pytest.raises(WorkloadError) as caught:
        load_workload_file(path)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    errors = errors_of(caught.value)
    for error in errors:
        assert isinstance(error, WorkloadError)
        assert error.location is not None and error.location.path == str(path)
    return errors


def only(path: Path) -> WorkloadError:
    errors = failures(path)
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    assert isinstance(error, WorkloadError)
    return error


def where(error: InputError) -> tuple[int | None, str | None]:
    assert error.location is not None
    return error.location.line, error.field


VALID = """
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  web:
    image: nginx
    variables:
      DB_HOST: ${resources.db.host}
resources:
  db:
    type: postgres
  cache:
    type: redis
"""


def test_valid_document_loads(tmp_path: Path) -> None:
    workload = load_workload_file(write(tmp_path, VALID))
    assert workload.name == "web"
    assert set(workload.resources) == {"db", "cache"}


def test_bad_yaml_reports_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          web:
            image: "nginx
            command: [a
        """,
    )
    error = only(path)
    assert "invalid YAML" in error.reason
    assert error.location is not None and error.location.line is not None
    assert error.location.line >= 6
    assert str(error).startswith(f"{path}:{error.location.line}:")


def test_wrong_types_are_all_reported_at_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          web:
            image: 5
            variables:
              PORT: 8080
        service:
          ports:
            www:
              port: eighty
        """,
    )
    errors = failures(path)
    found = {where(e) for e in errors}
    assert found == {
        (6, "containers.web.image"),
        (8, "containers.web.variables.PORT"),
        (12, "service.ports.www.port"),
    }
    by_field = {e.field: e.reason for e in errors}
    assert by_field["containers.web.variables.PORT"] == "expected a string, found a number (8080)"
    assert "whole number" in by_field["service.ports.www.port"]
    # Several problems arrive together, in file order, and still count as WorkloadError.
    with pytest.raises(WorkloadErrors) as caught:
        load_workload_file(path)
    assert [e.location.line for e in caught.value.errors if e.location] == [6, 8, 12]
    assert str(caught.value).count(str(path)) == 3


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "extras:\n  x: 1\n")
    error = only(path)
    assert where(error) == (14, "extras")
    assert "unknown top-level key 'extras'" in error.reason
    assert "containers" in error.reason  # lists what is allowed


def test_unknown_container_field_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("    image: nginx\n", "    image: nginx\n    imagee: x\n"))
    error = only(path)
    assert where(error) == (7, "containers.web.imagee")
    assert "unknown field 'imagee'" in error.reason


def test_missing_required_field(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("    image: nginx\n", "    command: [run]\n"))
    error = only(path)
    assert where(error) == (5, "containers.web.image")
    assert error.reason == "missing required field 'image'"


def test_placeholder_naming_no_resource(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("resources.db.host", "resources.dbb.host"))
    error = only(path)
    assert where(error) == (8, "containers.web.variables.DB_HOST")
    assert error.location is not None and error.location.column == 7
    assert "${resources.dbb.host} names no resource 'dbb'; known: cache, db" in error.reason
    assert str(error) == f"{path}:8:7: containers.web.variables.DB_HOST: {error.reason}"


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("${database.host}", "must start with 'metadata.' or 'resources.'"),
        ("${}", "is empty"),
        ("${resources}", "needs a resource name"),
        ("${metadata.owner}", "names no key 'owner' in metadata; known: name"),
        ("${metadata.name.first}", "metadata.name is not a mapping"),
        ("${resources.db..host}", "empty part"),
    ],
)
def test_bad_placeholders(tmp_path: Path, template: str, words: str) -> None:
    path = write(tmp_path, VALID.replace("${resources.db.host}", f"'{template}'"))
    error = only(path)
    assert where(error) == (8, "containers.web.variables.DB_HOST")
    assert words in error.reason


def test_escaped_placeholders_are_not_checked(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("${resources.db.host}", "'$${not.checked} $$ $abc'"))
    assert load_workload_file(path).name == "web"


def test_placeholders_in_params_and_files_are_checked_but_not_with_noexpand(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          web:
            image: nginx
            files:
              /etc/raw.conf:
                content: ${anything.goes}
                noExpand: true
              /etc/app.conf:
                content: ${resources.nope.x}
        resources:
          route:
            type: route
            params:
              host: ${resources.dns.host}
        """,
    )
    errors = failures(path)
    assert {where(e) for e in errors} == {
        (12, "containers.web.files./etc/app.conf.content"),
        (17, "resources.route.params.host"),
    }


def test_before_cycle_self_and_unknown(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          web:
            image: nginx
            before:
              web:
                ready: started
              ghost:
                ready: started
              init:
                ready: complete
          init:
            image: busybox
            before:
              web:
                ready: healthy
        """,
    )
    errors = failures(path)
    by_field = {e.field: e for e in errors}
    assert set(by_field) == {
        "containers.web.before.web",
        "containers.web.before.ghost",
        "containers.init.before.web",
    }
    assert where(by_field["containers.web.before.web"])[0] == 8
    assert "cannot wait for itself" in by_field["containers.web.before.web"].reason
    assert where(by_field["containers.web.before.ghost"])[0] == 10
    assert "names no container 'ghost'; containers: init, web" in (
        by_field["containers.web.before.ghost"].reason
    )
    cycle = by_field["containers.init.before.web"]
    assert where(cycle)[0] == 17
    assert "cycle: init -> web -> init" in cycle.reason


def test_resource_params_self_reference_and_cycle(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          web:
            image: nginx
        resources:
          aa:
            type: thing
            params:
              x: ${resources.bb.out}
          bb:
            type: thing
            params:
              y: ["${resources.aa.out}"]
          cc:
            type: thing
            params:
              z: ${resources.cc.out}
        """,
    )
    errors = failures(path)
    reasons = {e.field: e.reason for e in errors}
    assert "refers to itself" in reasons["resources.cc.params"]
    assert "cycle: aa -> bb -> aa" in reasons["resources.aa.params"]
    assert {where(e) for e in errors} == {(10, "resources.aa.params"), (18, "resources.cc.params")}


def test_workload_name_that_could_traverse_paths(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("name: web", "name: ../../etc"))
    error = only(path)
    assert where(error) == (3, "metadata.name")
    assert "workload name '../../etc' is invalid" in error.reason
    assert "'/'" in error.reason


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "score.yaml"
    path.write_text(VALID + "# " + "x" * MAX_BYTES + "\n")
    error = only(path)
    assert "larger than" in error.reason
    with pytest.raises(WorkloadError, match="larger than"):
        load_workload_text(VALID + "#" * (MAX_BYTES + 1), "big.yaml")


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    error = only(write(tmp_path, "\n".join(lines) + "\n"))
    assert "aliases" in error.reason


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("- just\n- a list\n", "expected a mapping at the top level"),
        ("hello\n", "expected a mapping at the top level"),
        ("", "file is empty"),
        ("\n  \n", "file is empty"),
        ("# only a comment\n", "no YAML document"),
    ],
)
def test_non_mapping_and_empty_documents(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "score.yaml"
    path.write_text(text)
    error = only(path)
    assert words in error.reason
    assert error.location is not None and error.location.line == 1


def test_second_document_is_refused(tmp_path: Path) -> None:
    error = only(write(tmp_path, VALID + "---\n" + VALID))
    assert error.location is not None and error.location.line == 14
    assert "one document" in error.reason


def test_duplicate_and_non_string_keys(tmp_path: Path) -> None:
    error = only(write(tmp_path, VALID.replace("  name: web\n", "  name: web\n  name: api\n")))
    assert where(error) == (4, "metadata.name")
    assert "duplicate key 'name'" in error.reason
    error = only(write(tmp_path, VALID.replace("DB_HOST:", "ON:")))
    assert where(error) == (8, "containers.web.variables")
    assert "not a string; quote it" in error.reason


def test_missing_unreadable_and_binary_files(tmp_path: Path) -> None:
    assert "no such file" in only(tmp_path / "nope.yaml").reason
    assert "directory" in only(tmp_path).reason
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"apiVersion: \xff\xfe\n")
    assert "not UTF-8" in only(binary).reason


def test_duplicate_workload_names_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, VALID, "a.yaml")
    second = write(tmp_path, VALID, "b.yaml")
    with pytest.raises(WorkloadError) as caught:
        load_workloads([first, second])
    (error,) = errors_of(caught.value)
    assert error.location is not None and error.location.path == str(second)
    assert where(error) == (3, "metadata.name")
    assert "'web' is already used by" in error.reason and str(first) in error.reason


SHARED = """
apiVersion: score.dev/v1b1
metadata:
  name: {name}
containers:
  main:
    image: nginx
resources:
  queue:
    type: amqp
    id: orders
    params:
      durable: {durable}
"""


def test_shared_id_with_conflicting_params_names_both_files(tmp_path: Path) -> None:
    one = write(tmp_path, SHARED.format(name="one", durable="true"), "one.yaml")
    same = write(tmp_path, SHARED.format(name="same", durable="true"), "same.yaml")
    two = write(tmp_path, SHARED.format(name="two", durable="false"), "two.yaml")
    assert len(load_workloads([one, same])) == 2
    with pytest.raises(WorkloadError) as caught:
        load_workloads([one, same, two])
    (error,) = errors_of(caught.value)
    assert error.location is not None and error.location.path == str(two)
    assert where(error) == (8, "resources.queue")
    assert "amqp.default#orders" in error.reason
    assert "different params" in error.reason and str(one) in error.reason


def test_errors_from_several_files_come_together(tmp_path: Path) -> None:
    bad_one = write(tmp_path, VALID.replace("image: nginx", "image: [x]"), "one.yaml")
    bad_two = write(tmp_path, "- x\n", "two.yaml")
    with pytest.raises(WorkloadErrors) as caught:
        load_workloads([bad_one, bad_two])
    paths = [e.location.path for e in caught.value.errors if e.location]
    assert paths == [str(bad_one), str(bad_two)]
    data = caught.value.to_dict()
    assert [e["file"] for e in data["errors"]] == paths


def test_file_entries_need_exactly_one_content_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          web:
            image: nginx
            files:
              /a:
                content: x
                source: y
              /b:
                mode: "0644"
            livenessProbe: {}
        """,
    )
    errors = failures(path)
    reasons = {where(e): e.reason for e in errors}
    assert reasons[(8, "containers.web.files./a")] == (
        "set only one of content, binaryContent, source; found content and source"
    )
    assert reasons[(11, "containers.web.files./b")] == (
        "needs exactly one of: content, binaryContent, source"
    )
    assert reasons[(13, "containers.web.livenessProbe")] == "needs httpGet or exec"


def test_target_in_map_form_and_list_form_without_target(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          web:
            image: nginx
            files:
            - content: no target here
            volumes:
              /data:
                source: vol
                target: /data
        """,
    )
    errors = failures(path)
    assert {where(e) for e in errors} == {
        (8, "containers.web.files.0"),
        (12, "containers.web.volumes./data.target"),
    }


def test_load_workload_text_names_the_given_path() -> None:
    with pytest.raises(WorkloadError) as caught:
        load_workload_text("- x\n", "inline.yaml")
    assert str(caught.value).startswith("inline.yaml:1:1:")
    workload = load_workload_text(textwrap.dedent(VALID).lstrip())
    assert workload.path is None and workload.display_path == "<string>"
    location = workload.location("resources", "db", "type")
    assert location is not None and (location.line, location.column) == (11, 5)
    assert workload.location("no", "such", "field") is not None
