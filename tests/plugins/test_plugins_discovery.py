from __future__ import annotations

import sys

from plugin_samples import SampleFactory

from podium.plugins.discovery import clear_cache, discover


def _ours(prefix: str = "podium-sample-") -> list:
    return [c for c in discover() if c.distribution.startswith(prefix)]


def test_discovers_entry_points_without_importing(sample_dist: SampleFactory) -> None:
    good = sample_dist("good")
    broken = sample_dist("broken_import")

    found = {c.name: c for c in _ours()}

    assert set(found) == {"good", "broken-import"}
    assert found["good"].value == good.package
    assert found["good"].distribution == "podium-sample-good"
    assert found["good"].version == "1.0.0"
    assert found["broken-import"].distribution == "podium-sample-broken-import"
    # Discovery reads metadata only: neither plugin's code ran.
    assert good.package not in sys.modules
    assert broken.package not in sys.modules


def test_results_are_sorted_by_name(sample_dist: SampleFactory) -> None:
    sample_dist("good", name="zeta", distribution="podium-sample-z")
    sample_dist("good", name="alpha", distribution="podium-sample-a")
    names = [c.name for c in _ours()]
    assert names == sorted(names)
    assert names == ["alpha", "zeta"]


def test_same_distribution_twice_on_sys_path_counts_once(
    sample_dist: SampleFactory, monkeypatch
) -> None:
    dist = sample_dist("good")
    monkeypatch.syspath_prepend(str(dist.site))  # now on sys.path twice
    clear_cache()
    assert sys.path.count(str(dist.site)) >= 2
    assert [c.name for c in _ours()] == ["good"]


def test_discovery_is_cached_until_cleared(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    assert [c.name for c in _ours()] == ["good"]
    sample_dist(
        "old_api",
    )  # clear_cache is called by the factory...
    assert {c.name for c in _ours()} == {"good", "old-api"}
    # ...without it, a newly written distribution stays unseen until clear_cache().
    from plugin_samples import write_distribution

    site = sample_dist.sites[0]
    write_distribution(site, "podium-sample-late", "1.0", {"late": "late_mod"}, {"late_mod.py": ""})
    assert "late" not in {c.name for c in _ours()}
    clear_cache()
    assert "late" in {c.name for c in _ours()}
