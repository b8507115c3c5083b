"""The local stack as `make run` starts it: a process on free ports (bench/stack_process.py, as the conference and
load runs start it), shared by every e2e test of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.stack_process import StackProcess

RunningStack = StackProcess  # what the e2e tests drive: `api`, `stripe`, `process`, `output()`


# Module scope: test_local_stack.py ends by stopping its stack with Ctrl-C, so no other module may share it.
@pytest.fixture(scope="module")
def local_stack() -> Iterator[StackProcess]:
    try:
        stack = StackProcess(startup_timeout=60).start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield stack
    stack.stop()
