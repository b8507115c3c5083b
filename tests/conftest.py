"""Settings every suite shares: the local stack's fake AWS account in one region, and no real endpoint ever."""

from __future__ import annotations

import resource
from typing import Any

# Lambda sets a function's environment before its modules are imported; Powertools reads its settings at
# import. pytest imports every test module (and so shared.observability) before any fixture runs, so the fake
# account and the template's static Globals are applied here, first.
from infra.fake_account import use_fake_account

use_fake_account()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The peak resident memory of this pytest process (Linux reports it in KiB), printed with every run: the
    suite must stay small enough for a 2-core CI machine. Local stacks started as subprocesses are not counted."""
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    terminalreporter.write_line(f"peak RSS of this pytest process: {peak_mib:.0f} MiB")
