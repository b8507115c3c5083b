"""Facts read from the functions' source, for tests that tie the template and the cost model to the code."""

from __future__ import annotations

import re
from pathlib import Path

FUNCTIONS = Path(__file__).parents[2] / "functions"


def emitted_metric_names() -> set[str]:
    """Every custom metric a function emits through Powertools (`metrics.add_metric(name="...")`)."""
    source = "".join(path.read_text() for path in FUNCTIONS.rglob("*.py"))
    return set(re.findall(r'add_metric\(name="(\w+)"', source))
