"""Facts read from the functions' source, for tests that tie the template and the cost model to the code."""

from __future__ import annotations

import ast
from pathlib import Path

FUNCTIONS = Path(__file__).parents[2] / "functions"


def emitted_metric_names() -> set[str]:
    """Every custom metric a function emits through Powertools: `metrics.add_metric(name="...")`, or a name looked
    up in a module-level dict of names (`add_metric(name=_METRICS[outcome])`)."""
    names: set[str] = set()
    for path in FUNCTIONS.rglob("*.py"):
        tree = ast.parse(path.read_text())
        tables = {
            target.id: [v.value for v in node.value.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "add_metric"):
                continue
            (name,) = [keyword.value for keyword in call.keywords if keyword.arg == "name"]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                names.add(name.value)
            elif isinstance(name, ast.Subscript) and isinstance(name.value, ast.Name):
                names.update(tables[name.value.id])
            else:
                raise AssertionError(f"{path}:{call.lineno}: a metric name this test cannot read")
    return names
