"""``validate`` warns (exit 0) about ``${...}`` in command/args, which Score never expands."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli_project import podium

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: hello
containers:
  web:
    image: python:3.12-slim
    command: ["python3", "-m", "http.server"]
    args:
      - "--directory"
      - "/srv/${metadata.name}"
      - "$${NOT_A_PLACEHOLDER}"
    variables:
      NAME: "${metadata.name}"
"""


def test_validate_warns_about_placeholders_in_args_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "score.yaml").write_text(SCORE)
    result = podium(tmp_path, "--no-plugins", "validate")
    assert result.returncode == 0, result.stderr  # a warning, not an error
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stdout  # not the escaped $${...}, not the variable
    assert warnings[0].startswith("warning: score.yaml:10:")
    assert "${metadata.name} in args is not expanded" in warnings[0]
    document = json.loads(podium(tmp_path, "--no-plugins", "validate", "--json").stdout)
    assert [w["location"] for w in document["warnings"]] == ["score.yaml:10:9"]
