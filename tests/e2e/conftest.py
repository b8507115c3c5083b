"""The local stack as `make run` starts it: a process on free ports, shared by every e2e test of a module."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class RunningStack:
    api: str
    stripe: str
    process: subprocess.Popen[str]
    reader: threading.Thread
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        """What the stack printed; all of it once the process has ended."""
        if self.process.poll() is not None:
            self.reader.join(timeout=10)
        return "".join(self.lines)


def _read_continuously(process: subprocess.Popen[str], lines: list[str]) -> threading.Thread:
    # The pipe is drained as the stack writes, so a long browser session's logs never fill it and block the stack.
    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, name="local-stack-output", daemon=True)
    reader.start()
    return reader


# Module scope: test_local_stack.py ends by stopping its stack with Ctrl-C, so no other module may share it.
@pytest.fixture(scope="module")
def local_stack() -> Iterator[RunningStack]:
    ports = {"PORT": free_port(), "STRIPE_PORT": free_port(), "AWS_PORT": free_port()}
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    environment |= {name: str(port) for name, port in ports.items()}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local_stack"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = _read_continuously(process, lines)
    api = f"http://127.0.0.1:{ports['PORT']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{api}/conference", timeout=5).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass
        if process.poll() is not None:
            reader.join(timeout=10)
            pytest.fail("the local stack exited:\n" + "".join(lines))
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the local stack did not start within 60 s")
    stack = RunningStack(api, f"http://127.0.0.1:{ports['STRIPE_PORT']}", process, reader, lines)
    yield stack
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    reader.join(timeout=10)
