"""The provisioner kit's ``params-are-honoured`` check catches an update that changes nothing."""

from __future__ import annotations

import pytest

KIT_TEST = """
from pathlib import Path

import pytest
from pydantic import BaseModel
from podium.provisioning import Param, Provisioner
from podium.testing.conformance import ProvisionerConformance


class Params(BaseModel):
    note: str = Param("", description="Written into the resource's file.")
    place: str = Param("a", forces_replacement=True)


class Notes(Provisioner):
    name = "notes"
    resource_type = "note"
    params_model = Params

    def _path(self, ctx):
        return Path(ctx.env.state_dir) / "notes" / ctx.physical_name

    def create(self, ctx):
        path = self._path(ctx)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or {honest}:
            path.write_text(str(ctx.params.get("note", "")))
        return {{"path": str(path)}}

    def read(self, ctx):
        return {{"path": str(self._path(ctx))}} if self._path(ctx).exists() else None

    def delete(self, ctx):
        self._path(ctx).unlink(missing_ok=True)


class TestNotes(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self):
        return Notes()

    @pytest.fixture
    def param_updates(self):
        def note(ctx):
            return Notes()._path(ctx).read_text()

        return {{{updates}}}
"""

NOTE = '"note": ("first", "second", note)'


def run(pytester: pytest.Pytester, honest: bool, updates: str = NOTE) -> pytest.RunResult:
    pytester.makepyfile(test_notes=KIT_TEST.format(honest=honest, updates=updates))
    return pytester.runpytest("-rfEs", "-p", "no:cacheprovider", "-k", "honours")


def test_an_update_that_ignores_a_param_breaks_the_rule(pytester: pytest.Pytester) -> None:
    result = run(pytester, honest=False)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "params-are-honoured" in output and "'note'" in output, output


def test_an_update_that_honours_it_passes(pytester: pytest.Pytester) -> None:
    run(pytester, honest=True).assert_outcomes(passed=1)


def test_a_replacing_param_may_not_be_listed(pytester: pytest.Pytester) -> None:
    result = run(pytester, honest=True, updates='"place": ("a", "b", note)')
    result.assert_outcomes(failed=1)
    assert "forces_replacement" in result.stdout.str()
