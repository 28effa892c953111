"""The deployer kits: a correct sample deployer passes, and each of 21 planted bugs is caught."""

from __future__ import annotations

import pytest
from deployer_samples import BackgroundDeployer

from podium.testing.conformance import ProcessDeployerConformance


class TestBackgroundDeployer(ProcessDeployerConformance):
    @pytest.fixture
    def deployer(self) -> BackgroundDeployer:
        return BackgroundDeployer()

    @pytest.fixture
    def stop_timeout(self) -> float:
        return 1.0
