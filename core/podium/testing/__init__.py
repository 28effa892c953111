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
"""
