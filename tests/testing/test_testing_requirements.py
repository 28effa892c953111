"""``podium.testing.require``: a missing binary skips the test, or fails it under CI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from podium.testing import in_ci, require, unavailable

MISSING = "podium-no-such-binary-7c1e"


def test_a_missing_binary_skips_outside_ci() -> None:
    with pytest.raises(pytest.skip.Exception, match=f"{MISSING} is not installed"):
        require(MISSING, environ={})


def test_a_missing_binary_fails_under_ci() -> None:
    with pytest.raises(pytest.fail.Exception, match="CI must run this test") as failed:
        require(MISSING, environ={"CI": "true"})
    assert f"{MISSING} is not installed" in str(failed.value)


def test_ci_is_any_non_empty_value() -> None:
    assert in_ci({"CI": "1"}) and in_ci({"CI": "true"})
    assert not in_ci({"CI": ""}) and not in_ci({})


def test_the_first_missing_binary_is_named() -> None:
    python = Path(sys.executable).name
    with pytest.raises(pytest.skip.Exception, match=f"^{MISSING} is not installed$"):
        require(python, MISSING, "also-missing", search=[Path(sys.executable).parent], environ={})


def test_a_binary_off_path_is_found_in_the_search_directories(tmp_path: Path) -> None:
    tool = tmp_path / MISSING
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    require(MISSING, search=[tmp_path], environ={"CI": "true"})  # neither skips nor fails


def test_unavailable_says_what_is_missing() -> None:
    with pytest.raises(pytest.skip.Exception, match=r"^the widget server is not running$"):
        unavailable("the widget server is not running", environ={})
    with pytest.raises(pytest.fail.Exception, match=r"^the widget server is not running, and CI"):
        unavailable("the widget server is not running", environ={"CI": "yes"})
