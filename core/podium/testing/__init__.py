"""Testing tools for plugin authors: pytest fixtures and conformance test kits.

The pytest plugin (``podium.testing.pytest_plugin``) is registered through the
``pytest11`` entry point, so its fixtures are available in any test run where
Podium is installed. The kits (provisioners, deployers, secret stores, policy
packs, state backends with their ``journal``, telemetry sinks) live in
:mod:`podium.testing.conformance`::

    from podium.testing.conformance import ProvisionerConformance

    class TestBucketProvisioner(ProvisionerConformance):
        @pytest.fixture
        def provisioner(self):
            return BucketProvisioner()

A policy pack's tests build the :class:`~podium.plugin.Workload` it checks with
:func:`load_workload_text` (Score YAML text and the file name errors should show).

A test that runs a real server or binary calls :func:`require` (or
:func:`unavailable` for what is not a binary): missing, the test is skipped, or
failed when ``CI`` is set, where the pipeline installs what its tests need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.testing.requirements import in_ci, require, unavailable
    from podium.workload.loader import load_workload_text

if not TYPE_CHECKING:  # loads on first use, like podium.plugin's names
    from podium._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "podium.testing.requirements": ("in_ci", "require", "unavailable"),
            "podium.workload.loader": ("load_workload_text",),
        },
    )
    del lazy_exports

__all__ = ["in_ci", "load_workload_text", "require", "unavailable"]
