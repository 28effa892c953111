"""The warm process runs developer commands exactly as the calling process would.

Each test starts its own warm process (``PODIUM_WARM=1``, a private
``XDG_RUNTIME_DIR``) against a real platform directory with the fake plugin installed
as an entry point, and compares what the command printed and returned with the same
command run in-process (``PODIUM_WARM=0``). Speed is measured by
``benchmarks/bench_cli.py``, never here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.cli.warm import routed_command, wanted

_spec = importlib.util.spec_from_file_location(
    "engine_project_warm", Path(__file__).resolve().parents[1] / "engine" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_engine)


class Warm:
    """A deployed fake platform and the environment that makes its commands go warm."""

    def __init__(self, root: Path, runtime: Path) -> None:
        self.project = _engine.Project(root)
        self.runtime = runtime
        config = self.project.root / "podium.toml"
        config.write_text(config.read_text().replace("jsonl = true", "jsonl = false"))
        self.project.podium("up", check=True, PODIUM_WARM="0")

    def env(self, warm: bool, **extra: str) -> dict[str, str]:
        settings = {
            "PODIUM_WARM": "1" if warm else "0",
            "XDG_RUNTIME_DIR": str(self.runtime),
            "PODIUM_WARM_IDLE": "60",
        }
        return self.project.env(**{**settings, **extra})

    def run(self, *args: str, warm: bool, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.project.root,
            env=self.env(warm, **extra),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def served(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run warm, waiting for the warm process the first call starts; assert it served."""
        deadline = time.monotonic() + 60
        while True:
            done = self.run("--debug", *args, warm=True, **extra)
            if "the warm process runs this command" in done.stderr:
                return done
            assert time.monotonic() < deadline, done.stderr
            time.sleep(0.2)

    def server_pids(self) -> list[int]:
        folder = self.runtime / "podium"
        pids = []
        for lock in folder.glob("warm-*.sock.lock") if folder.is_dir() else ():
            text = lock.read_text().strip()
            if text.isdigit() and _alive(int(text)):
                pids.append(int(text))
        return pids

    def stop(self) -> None:
        for pid in self.server_pids():
            os.kill(pid, signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[Warm]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    platform = Warm(tmp_path / "platform", runtime)
    try:
        yield platform
    finally:
        platform.stop()


def _without_debug_line(stderr: str) -> str:
    return "".join(
        line
        for line in stderr.splitlines(keepends=True)
        if "the warm process runs this command" not in line
    )


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("status", "--json"),
        ("plugins", "list"),
        ("--json", "plugins", "list"),
        ("validate",),
        ("history",),
        ("plan", "-e", "nope"),  # an error: its message and exit code
        ("status", "no-such-workload"),
    ],
    ids=" ".join,
)
def test_same_output_and_exit_code_as_in_process(warm: Warm, args: tuple[str, ...]) -> None:
    warm.served("status")  # the warm process is up
    cold = warm.run(*args, warm=False)
    hot = warm.run("--debug", *args, warm=True)
    assert "the warm process runs this command" in hot.stderr
    hot_plain = warm.run(*args, warm=True)
    assert (hot_plain.returncode, hot_plain.stdout) == (cold.returncode, cold.stdout)
    assert _without_debug_line(hot_plain.stderr) == cold.stderr


def test_up_changes_the_platform_as_in_process(warm: Warm) -> None:
    """``up`` in the warm process: the same output for nothing to do, and a change it
    applies is the platform's (seen by an in-process command, in the caller's world)."""
    warm.served("status")
    cold = warm.run("up", warm=False)
    hot = warm.run("--debug", "up", warm=True)
    assert "the warm process runs this command" in hot.stderr
    assert (hot.returncode, hot.stdout) == (cold.returncode, cold.stdout)
    assert cold.returncode == 0, cold.stderr

    # (edited in place: a new file in the working directory, which `python -m` puts
    # on sys.path, would retire the warm process)
    before = warm.project.podium_json("history", PODIUM_WARM="0")
    score = warm.project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("GREETING: hello", "GREETING: welcome"))
    changed = warm.run("--debug", "up", warm=True)
    assert "the warm process runs this command" in changed.stderr
    assert changed.returncode == 0, changed.stderr
    assert "welcome" in json.dumps(warm.project.deployed("web"))
    # the run is the platform's: recorded in its history, read by an in-process command
    history = warm.project.podium_json("history", PODIUM_WARM="0")
    assert len(history) == len(before) + 1


def test_different_resource_limits_get_their_own_warm_process(warm: Warm) -> None:
    """A caller whose limits differ is not served by a warm process started with others
    (``up`` starts servers that inherit them)."""
    import resource

    warm.served("status")
    first = set(warm.server_pids())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lower = min(soft, 512) - 1

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (lower, hard))

    deadline = time.monotonic() + 60
    while True:
        done = subprocess.run(
            [sys.executable, "-m", "podium", "--debug", "status"],
            cwd=warm.project.root,
            env=warm.env(True),
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=limited,
        )
        if "the warm process runs this command" in done.stderr:
            break
        assert time.monotonic() < deadline, done.stderr
        time.sleep(0.2)
    assert set(warm.server_pids()) - first  # a second warm process, with these limits


def test_the_callers_environment_directory_and_umask_apply(warm: Warm) -> None:
    # FAKE_STARTING is read by the plugin in the command's process: the caller's value wins
    done = warm.served("status", FAKE_STARTING="web")
    assert done.returncode == 10, done.stderr  # partial -> not ready
    assert "partial" in done.stdout
    # plan --out writes where the caller is, with the caller's umask
    out = warm.project.root / "saved.plan.json"
    done = subprocess.run(
        ["sh", "-c", f"umask 077 && exec {sys.executable} -m podium plan --out {out.name}"],
        cwd=warm.project.root,
        env=warm.env(True),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert out.is_file() and out.stat().st_mode & 0o077 == 0


def test_a_changed_source_retires_the_warm_process(warm: Warm) -> None:
    warm.served("status")
    [first] = warm.server_pids()
    # a new file on sys.path (an install, an edited plugin): the directory's mtime moves
    time.sleep(0.01)
    (warm.project.site / "freshly_installed.py").write_text("")
    refused = warm.run("--debug", "status", warm=True)
    assert refused.returncode == 0, refused.stderr  # ran in-process instead
    assert "the warm process runs this command" not in refused.stderr
    deadline = time.monotonic() + 10
    while _alive(first):
        assert time.monotonic() < deadline, "the stale warm process kept running"
        time.sleep(0.05)
    warm.served("status")  # a new one took over
    assert first not in warm.server_pids()


def test_ctrl_c_reaches_the_command(warm: Warm) -> None:
    warm.served("status")
    client = subprocess.Popen(
        [sys.executable, "-m", "podium", "status", "--probe"],
        cwd=warm.project.root,
        env=warm.env(True, FAKE_STATUS_PAUSE="30"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)  # the command is in its slow probe
    client.send_signal(signal.SIGINT)
    _out, err = client.communicate(timeout=60)
    assert client.returncode == 130, err
    assert "Interrupted." in err


def test_an_idle_warm_process_exits(warm: Warm) -> None:
    # the call that starts the warm process passes on its PODIUM_WARM_IDLE
    warm.served("status", PODIUM_WARM_IDLE="1")
    [pid] = warm.server_pids()
    deadline = time.monotonic() + 30
    while _alive(pid):
        assert time.monotonic() < deadline, "the idle warm process kept running"
        time.sleep(0.1)
    assert list((warm.runtime / "podium").glob("*.sock")) == []


def _mapped_libraries(pid: int) -> set[str]:
    # Linux, as the warm process itself (fork, SO_PEERCRED) and this whole suite are.
    with open(f"/proc/{pid}/maps") as maps:
        return {line.split()[-1].rsplit("/", 1)[-1] for line in maps if ".so" in line}


def test_the_next_command_finds_the_libraries_the_last_one_imported(warm: Warm) -> None:
    warm.served("status")
    [pid] = warm.server_pids()
    # up seals secrets: cryptography (and its Rust extension) is imported by the command,
    # never by the warm process at start
    assert "_rust.abi3.so" not in _mapped_libraries(pid)
    warm.served("up")
    deadline = time.monotonic() + 10
    while "_rust.abi3.so" not in _mapped_libraries(pid):
        assert time.monotonic() < deadline, "the warm process did not import what up used"
        time.sleep(0.05)
    assert warm.server_pids() == [pid]  # still serving, and the next command is served
    assert warm.run("status", warm=True).returncode == 0


@pytest.fixture
def learning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` for made-up libraries and plugins, removed afterwards."""
    from podium.cli import warm_server

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(warm_server, "_plugin_top_levels", frozenset({"warmtest_plugin"}))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_learning_imports_libraries_never_a_plugins_modules(learning: Path) -> None:
    from podium.cli.warm_server import _learn

    (learning / "warmtest_lib.py").write_text("VALUE = 1\n")
    (learning / "warmtest_plugin").mkdir()
    (learning / "warmtest_plugin" / "__init__.py").write_text("")
    (learning / "warmtest_plugin" / "hooks.py").write_text("raise SystemExit('imported')\n")
    report = b"warmtest_lib\nwarmtest_plugin.hooks\nwarmtest_plugin\nno_such_module_here\n__main__"
    assert _learn(report)
    assert "warmtest_lib" in sys.modules
    assert "warmtest_plugin" not in sys.modules and "warmtest_plugin.hooks" not in sys.modules


def test_learning_leaves_warnings_logging_and_sys_path_as_they_were(learning: Path) -> None:
    import logging
    import warnings

    from podium.cli.warm_server import _learn

    (learning / "warmtest_noisy.py").write_text(
        "import logging, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "logging.basicConfig(level=logging.DEBUG)\n"
        "import sys\n"
        "sys.path.insert(0, '/nonexistent')\n"
    )
    filters, handlers = list(warnings.filters), list(logging.getLogger().handlers)
    path = list(sys.path)
    level = logging.getLogger().level
    assert _learn(b"warmtest_noisy")
    assert "warmtest_noisy" in sys.modules
    assert list(warnings.filters) == filters
    assert logging.getLogger().handlers == handlers and logging.getLogger().level == level
    assert sys.path == path


def test_a_library_that_starts_a_thread_stops_the_warm_process(learning: Path) -> None:
    from podium.cli.warm_server import _learn

    (learning / "warmtest_threaded.py").write_text(
        "import threading\n"
        "STOP = threading.Event()\n"
        "threading.Thread(target=STOP.wait, daemon=True).start()\n"
    )
    try:
        assert not _learn(b"warmtest_threaded")  # forking after this would not be safe
    finally:
        sys.modules["warmtest_threaded"].STOP.set()


def test_a_child_reports_what_it_imported_through_its_pipe(learning: Path) -> None:
    from podium.cli.warm_server import _read_report, _report_imports

    (learning / "warmtest_reported.py").write_text("")
    before = frozenset(sys.modules)
    __import__("warmtest_reported")
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    # A process the command forked without exec keeps the pipe open: the report is
    # whole at its end marker, not when the pipe closes.
    kept_open = os.dup(write_end)
    try:
        _report_imports(write_end, before)  # closes its own end
        reports = {read_end: bytearray()}
        deadline = time.monotonic() + 5
        while _read_report(read_end, reports):
            assert time.monotonic() < deadline, "the report never ended"
    finally:
        os.close(kept_open)
    assert reports[read_end].decode().splitlines() == ["warmtest_reported"]


def test_which_commands_go_warm() -> None:
    assert routed_command(["status"]) == "status"
    assert routed_command(["-c", "x.toml", "--json", "plan", "-e", "dev"]) == "plan"
    assert routed_command(["--config=x.toml", "plugins", "list"]) == "plugins"
    assert routed_command(["plugins", "install", "x"]) is None
    assert routed_command(["apply"]) is None
    assert routed_command(["destroy"]) is None
    assert routed_command(["-c", "x.toml", "up", "-e", "dev"]) == "up"
    assert routed_command(["status", "--help"]) is None
    assert routed_command(["--version"]) is None
    assert routed_command([]) is None
    assert wanted({"PODIUM_WARM": "1"}) and not wanted({"PODIUM_WARM": "0"})
    # unset: only a terminal on both ends (a script, a pipe or CI runs in-process)
    piped = subprocess.run(
        [sys.executable, "-c", "from podium.cli.warm import wanted; print(wanted({}))"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    )
    assert piped.stdout.strip() == "False"
