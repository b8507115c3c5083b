"""Cold-start proxy per function: the CPU time of importing its handler module in a fresh interpreter.

N rounds (default 15), each importing every handler once (in a rotating order) next to a bare Powertools + boto3
handler (`bench/baseline_handler.py`); each function's ratio is taken to the baseline of the same round, and the
report gives the median of those ratios with their spread (quartiles, min and max), so one noisy round moves
neither. Also which heavy packages each function loads at import (stripe only where Stripe is called at Init,
the PDF library only where PDFs are made). CPU time rather than wall time: an import is CPU work, and on a shared
machine wall time mostly measures the neighbours (Lambda's init has its CPU to itself). The interpreters get the
template's literal Globals environment, as Lambda sets it before the handler is imported. Never asserted in tests.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from infra.template import load_template, static_global_environment

RESULTS = Path(__file__).parent / "results" / "cold_start.json"
BASELINE = "(baseline) Powertools + boto3"
HEAVY = ("stripe", "reportlab", "crhelper", "pypdf", "moto", "samtranslator", "requests")
_PROBE = """
import sys, time
start = time.process_time()
import {module}
elapsed = time.process_time() - start
print(elapsed, ",".join(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


@dataclass(frozen=True)
class Measured:
    seconds: list[float]  # one import per round
    ratios: list[float]  # each to the baseline's import in the same round
    loaded: list[str]

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)


def spread(values: list[float]) -> dict[str, float]:
    """Median, quartiles, min and max of a few figures (one per round)."""
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    return {"median": statistics.median(values), "q1": q1, "q3": q3, "min": min(values), "max": max(values)}


def handler_modules() -> dict[str, str]:
    template = load_template()
    modules = {BASELINE: "bench.baseline_handler"}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            modules[name] = resource["Properties"]["Handler"].rpartition(".")[0]
    return modules


def environment() -> dict[str, str]:
    """What a function's interpreter has when its handler is imported: the template's literal Globals (service name,
    log level, PYDANTIC_DISABLE_PLUGINS...), a region, and tracing off (for the baseline and the functions alike)."""
    return (
        dict(os.environ)
        | static_global_environment()
        | {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    )


def compile_project() -> None:
    """The project's bytecode, written beside its sources as an installed package has it: every package in the
    interpreter's site-packages is compiled, and a machine that sets PYTHONDONTWRITEBYTECODE (as this one does) would
    otherwise have each probe compile our modules from source, a cost the baseline does not pay (measured: 1.24-1.29x
    instead of 1.12x for the stream dispatcher and the bulk worker)."""
    root = Path(__file__).resolve().parent.parent
    for package in ("shared", "functions", "bench"):
        compileall.compile_dir(root / package, quiet=1)


def _probe(module: str, environment: dict[str, str]) -> tuple[float, list[str]]:
    answer = subprocess.run(  # noqa: S603 - our own interpreter running our own probe
        [sys.executable, "-c", _PROBE.format(module=module, heavy=HEAVY)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(answer[0]), answer[1].split(",") if len(answer) > 1 else []


def measure(modules: dict[str, str], runs: int, environment: dict[str, str]) -> dict[str, Measured]:
    """Each module's import in each of `runs` rounds; each round imports every module once, in an order that rotates
    from round to round, so that a noisy neighbour hits the baseline and the functions alike."""
    compile_project()
    names = list(modules)
    times: dict[str, list[float]] = {name: [] for name in names}
    loaded: dict[str, list[str]] = {}
    for round_index in range(runs):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds, loaded[name] = _probe(modules[name], environment)
            times[name].append(seconds)
    baseline = times[BASELINE]
    ratios = {name: [mine / base for mine, base in zip(times[name], baseline, strict=True)] for name in names}
    return {name: Measured(times[name], ratios[name], loaded[name]) for name in names}


def instructions(modules: dict[str, str], environment: dict[str, str]) -> dict[str, float]:
    """Each module's import in instructions executed (valgrind's callgrind, less an interpreter that imports nothing),
    as a ratio to the baseline's: what the CPU-time ratio estimates, without the neighbours' noise. The hash seed is
    fixed, so a second run gives the same counts within a few in 10,000. Slow (about 50x): two at a time."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    fixed = environment | {"PYTHONHASHSEED": "0"}
    compile_project()

    def count(module: str) -> int:
        answer = subprocess.run(  # noqa: S603 - valgrind running our own interpreter on our own probe
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", f"import {module}"],
            env=fixed,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        return int(re.findall(r"Collected : (\d+)", answer)[-1])

    names = ["(nothing)", *modules]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(names, pool.map(count, ["sys", *modules.values()]), strict=True))
    base = counts[BASELINE] - counts["(nothing)"]
    return {name: (counts[name] - counts["(nothing)"]) / base for name in modules}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.cold_start", description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind, slow)")
    args = parser.parse_args(argv)
    rows = measure(handler_modules(), args.runs, environment())
    counted = instructions(handler_modules(), environment()) if args.instructions else {}
    print(f"Cold-start proxy: handler import CPU time in fresh interpreters, {args.runs} rotating rounds")
    print(
        f"{'function':<32} {'import ms':>10} {'x baseline':>11} {'IQR':>11} {'min-max':>11} {'x instr':>8}  "
        "heavy packages loaded"
    )
    for name, row in rows.items():
        ratio = spread(row.ratios)
        by_instructions = f"{counted[name]:.3f}" if name in counted else "-"
        print(
            f"{name:<32} {row.median_seconds * 1000:>10.1f} {ratio['median']:>10.2f}x "
            f"{ratio['q1']:>5.2f}-{ratio['q3']:<5.2f} {ratio['min']:>5.2f}-{ratio['max']:<5.2f} {by_instructions:>8}  "
            f"{', '.join(row.loaded) or '-'}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                name: {
                    "import_ms": row.median_seconds * 1000,
                    "ratio": spread(row.ratios),
                    "ratio_instructions": counted.get(name),
                    "heavy": row.loaded,
                }
                for name, row in rows.items()
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
