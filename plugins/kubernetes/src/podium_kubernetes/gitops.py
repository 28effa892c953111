"""render mode: one manifest file per workload, optionally committed to a local git repository.

This is the hand-off to a GitOps tool (Argo CD, Flux) that watches the repository:
Podium writes and commits, never pushes. The files are written only when their
bytes change, and a commit is made only when the tree changed, so deploying the
same release twice leaves no trace.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from podium.plugin import (
    DeployContext,
    DeploymentResult,
    EnvironmentInfo,
    LogLine,
    RenderedWorkload,
    ResourceError,
    WorkloadStatus,
    file_lock,
    write_atomic,
)
from podium_kubernetes.names import dns_label
from podium_kubernetes.settings import EnvironmentOptions

#: git may not read the operator's or the system's configuration (hooks, signing).
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Podium",
    "GIT_AUTHOR_EMAIL": "podium@localhost",
    "GIT_COMMITTER_NAME": "Podium",
    "GIT_COMMITTER_EMAIL": "podium@localhost",
}


class FileBackend:
    def __init__(
        self, env: EnvironmentInfo, options: EnvironmentOptions, root: Path | None
    ) -> None:
        self.env = env
        base = root or Path.cwd()
        self.output_dir = (
            base / options.output_dir
            if options.output_dir
            else env.state_dir / "kubernetes" / "manifests"
        )
        self.repository = base / options.git_repository if options.git_repository else None
        if self.repository is not None:
            inside = self.output_dir.resolve().is_relative_to(self.repository.resolve())
            if not inside:
                raise ResourceError(
                    f"output_dir {self.output_dir} is not inside git_repository {self.repository}",
                    hint="set [plugins.kubernetes.environments.<env>] output_dir to a "
                    "directory of the repository",
                )

    def path(self, workload: str) -> Path:
        return self.output_dir / f"{dns_label(workload)}.yaml"

    def deploy(
        self,
        ctx: DeployContext,
        workload: RenderedWorkload,
        objects: list[dict[str, Any]],
        text: str,
    ) -> DeploymentResult:
        path = self.path(workload.name)
        with file_lock(self.env.state_dir / "kubernetes" / "render.lock"):
            if not path.is_file() or path.read_text() != text:
                write_atomic(path, text, mode=0o644)
            commit = self.commit(
                f"{ctx.env.platform}/{ctx.env.environment}: {workload.name} release {ctx.release}"
            )
        outputs: dict[str, Any] = {"manifest": str(path), "objects": len(objects)}
        if commit:
            outputs["commit"] = commit
        return DeploymentResult(
            outputs=outputs, message=f"rendered {len(objects)} objects to {path}"
        )

    def commit(self, message: str) -> str | None:
        """Commit the output directory's changes; the head commit, or ``None`` without a repository."""
        if self.repository is None:
            return None
        if not (self.repository / ".git").exists():
            raise ResourceError(
                f"git_repository {self.repository} is not a git repository",
                hint=f"create it: git init {self.repository}",
            )
        self.git("add", "--all", "--", str(self.output_dir.resolve()))
        staged = self.git("diff", "--cached", "--quiet", check=False)
        if staged.returncode != 0:
            self.git("commit", "--quiet", "--no-verify", "-m", message)
        head = self.git("rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return head.stdout.strip() or None

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.repository is not None
        env = {**os.environ, **_GIT_ENV}
        result = subprocess.run(
            ["git", "-C", str(self.repository), *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if check and result.returncode != 0:
            raise ResourceError(
                f"git {args[0]} failed in {self.repository}: {result.stderr.strip()}"
            )
        return result

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        path = self.path(ctx.workload)
        if not path.is_file():
            return WorkloadStatus(workload=ctx.workload, state="absent", message="not rendered")
        return WorkloadStatus(
            workload=ctx.workload,
            state="ready",
            message=f"rendered to {path}; your GitOps tool applies it",
        )

    def logs(
        self, ctx: DeployContext, *, container: str | None, follow: bool, tail: int | None
    ) -> Iterator[LogLine]:
        raise ResourceError(
            f"{ctx.workload} is rendered to files in {ctx.env.environment}; nothing runs here",
            hint="read its logs where your GitOps tool deploys it (kubectl logs)",
        )

    def destroy(self, ctx: DeployContext) -> None:
        path = self.path(ctx.workload)
        with file_lock(self.env.state_dir / "kubernetes" / "render.lock"):
            path.unlink(missing_ok=True)
            self.commit(f"{ctx.env.platform}/{ctx.env.environment}: remove {ctx.workload}")
