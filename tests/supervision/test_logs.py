"""Log files read with tail and follow, by a real writer process."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from podium.plugin import LogSource, read_logs, tail_lines


def test_tail_reads_the_last_lines_of_a_big_file(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("".join(f"line {i}\n" for i in range(100_000)))
    assert tail_lines(log, 3) == ["line 99997", "line 99998", "line 99999"]
    assert tail_lines(log, 0) == []
    assert tail_lines(tmp_path / "missing.log", 5) == []
    short = tmp_path / "short.log"
    short.write_text("a\nb")
    assert tail_lines(short, 10) == ["a", "b"]


def test_logs_honour_the_sources_and_tail(tmp_path: Path) -> None:
    web, worker = tmp_path / "web.log", tmp_path / "worker.log"
    web.write_text("w1\nw2\nw3\n")
    worker.write_text("k1\n")
    sources = [LogSource("web", web), LogSource("worker", worker, "stderr")]
    lines = list(read_logs(sources))
    assert [(line.container, line.text, line.stream) for line in lines] == [
        ("web", "w1", "stdout"),
        ("web", "w2", "stdout"),
        ("web", "w3", "stdout"),
        ("worker", "k1", "stderr"),
    ]
    assert [line.text for line in read_logs(sources, tail=1)] == ["w3", "k1"]
    masked = read_logs([LogSource("web", web)], mask=lambda text: text.replace("2", "*"))
    assert [line.text for line in masked] == ["w1", "w*", "w3"]


def test_follow_yields_lines_a_process_appends_until_stopped(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("old\n")
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "with open(sys.argv[1], 'a') as f:\n"
            "    f.write('par'); f.flush(); time.sleep(0.3)\n"
            "    f.write('tial\\n'); f.flush()\n"
            "    for i in range(3):\n"
            "        f.write(f'new {i}\\n'); f.flush(); time.sleep(0.1)\n",
            str(log),
        ]
    )
    stop = threading.Event()
    seen: list[str] = []
    try:
        for line in read_logs(
            [LogSource("app", log)], tail=1, follow=True, poll_interval=0.05, stop=stop.is_set
        ):
            seen.append(line.text)
            if line.text != "old":
                assert line.timestamp is not None
            if line.text == "new 2":
                stop.set()
    finally:
        writer.wait(30)
    assert seen == ["old", "partial", "new 0", "new 1", "new 2"]


def test_follow_starts_over_when_the_file_is_truncated(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("first run, a long line\n")
    lines = read_logs([LogSource("app", log)], follow=True, poll_interval=0.05)
    assert next(lines).text == "first run, a long line"
    log.write_text("rotated\n")
    assert next(lines).text == "rotated"
    lines.close()
