"""The code samples in the docs run: every marked block, in order, in an empty directory."""

from __future__ import annotations

from pathlib import Path

import docsamples as samples
import pytest

PAGES = samples.pages_with_samples()
SLOW_PAGES = {"plugin-author.md"}  # builds, pip-installs and tests a package


def _param(page: Path) -> object:
    marks = [pytest.mark.slow] if page.name in SLOW_PAGES else []
    return pytest.param(page, id=str(page.relative_to(samples.DOCS)), marks=marks)


def test_the_guides_have_runnable_samples() -> None:
    names = {page.name for page in PAGES}
    assert {"embedding.md", "plugin-author.md"} <= names, names


@pytest.mark.parametrize("page", [_param(p) for p in PAGES])
def test_page_samples_run(page: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    outputs = samples.run_page(page, workdir, samples.LayeredVenv(tmp_path / "venv"))
    assert len(outputs) == sum(s.kind != "file" for s in samples.samples(page))


def test_a_failing_sample_is_reported_with_its_page_and_line(tmp_path: Path) -> None:
    page = tmp_path / "broken-sample.md"
    page.write_text("# x\n\n<!-- doc-test: python -->\n```python\nraise SystemExit(3)\n```\n")
    with pytest.raises(samples.SampleFailed, match=r"broken-sample.md:4: python sample exited 3"):
        samples.run_page(page, tmp_path, samples.LayeredVenv(tmp_path / "venv"))


def test_the_layered_venv_installs_only_into_itself(tmp_path: Path) -> None:
    venv = samples.LayeredVenv(tmp_path / "venv")
    proc = venv.run(
        [str(venv.python), "-c", "import podium, sys; print(sys.prefix); print(podium.__file__)"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    prefix, podium_file = proc.stdout.split()
    assert Path(prefix) == venv.path
    assert Path(podium_file).exists()
