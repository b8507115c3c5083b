"""A fresh local stack as `make run` starts it: its own process on free ports, driven only over HTTP.

Used by the conference and load runs (and their short versions in tests/e2e/test_runs.py). The process is the
whole backend (moto, the Stripe stand-in, the in-process API Gateway, stream pollers, schedules), so its
resident memory is the stack's memory; it is read from /proc, where Linux keeps the peak (VmHWM).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from types import TracebackType

import requests

ROOT = Path(__file__).resolve().parent.parent
COMPACT_CONFERENCE = Path(__file__).resolve().parent / "conference-compact.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak since the process started) of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            found[name] = int(value.split()[0])
    return found


class StackProcess:
    """`with StackProcess(conference_file) as stack:` a local stack on free ports until the block ends."""

    def __init__(self, conference_file: Path | None = None, startup_timeout: float = 90) -> None:
        self.conference_file = conference_file
        self.startup_timeout = startup_timeout
        ports = {"PORT": free_port(), "STRIPE_PORT": free_port(), "AWS_PORT": free_port()}
        self.api = f"http://127.0.0.1:{ports['PORT']}"
        self.stripe = f"http://127.0.0.1:{ports['STRIPE_PORT']}"
        self._ports = ports
        self._lines: deque[str] = deque(maxlen=3000)  # the functions log every request: keep the tail
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def process(self) -> subprocess.Popen[str]:
        assert self._process is not None, "the stack is not started"
        return self._process

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory_kib(self) -> dict[str, int]:
        return memory_kib(self.pid)

    def output(self) -> str:
        """The last lines the stack printed; all of them once the process has ended."""
        if self._process is not None and self._process.poll() is not None and self._reader is not None:
            self._reader.join(timeout=10)
        return "".join(self._lines)

    def start(self) -> StackProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        environment |= {name: str(port) for name, port in self._ports.items()}
        if self.conference_file is not None:
            environment["CONFERENCE_FILE"] = str(self.conference_file)
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local_stack"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._process = process

        def read() -> None:  # drained as written, so a chatty stack never blocks on a full pipe
            assert process.stdout is not None
            for line in process.stdout:
                self._lines.append(line)

        self._reader = threading.Thread(target=read, name="stack-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.api}/conference", timeout=5).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):
                pass
            if process.poll() is not None:
                self._reader.join(timeout=10)
                raise RuntimeError("the local stack exited:\n" + self.output())
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the local stack did not start within {self.startup_timeout:.0f} s:\n{self.output()}")

    def stop(self) -> None:
        """Ctrl-C, as a developer stops `make run`; killed if it has not stopped within 20 s."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=10)

    def __enter__(self) -> StackProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
