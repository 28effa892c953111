"""``logs`` times: lines podium-local sees while following carry the time it read them."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import WORKLOAD_PYTHON

from podium.plugin import DeployContext, EnvironmentInfo, RenderedContainer, RenderedWorkload
from podium_local.deploy.deployer import LocalDeployer
from podium_local.settings import Settings

TICKER = (
    "import time\nfor n in range(10**6):\n    print('tick', n, flush=True)\n    time.sleep(0.2)\n"
)


def test_followed_lines_are_stamped_and_earlier_ones_say_they_have_no_time(
    env: EnvironmentInfo,
) -> None:
    deployer = LocalDeployer(Settings(readiness_timeout=20, stop_timeout=5))
    ctx = DeployContext(workload="ticker", env=env, release=1)
    workload = RenderedWorkload(
        name="ticker",
        containers={
            "main": RenderedContainer(
                name="main", image="python:3.12", command=[WORKLOAD_PYTHON, "-c", TICKER]
            )
        },
    )
    deployer.deploy(ctx, workload)
    try:
        before = datetime.now(UTC)
        lines = deployer.logs(ctx, follow=True)
        followed = 0
        for line in lines:
            if line.timestamp is None:
                continue  # written before logs() was called: no honest time to give
            assert line.text.startswith("tick ")
            assert before <= line.timestamp <= datetime.now(UTC)
            followed += 1
            if followed == 3:
                break
        assert followed == 3
    finally:
        deployer.destroy(ctx)
