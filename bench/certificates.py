"""Certificates per second per core: `render_certificate` against its naive baseline, in the same run.

`make bench` (or `python -m bench.certificates --rounds 7 --documents 50`). One process, one thread, so
certificates per second here is per core. Both variants are warmed up, then measured in interleaved rounds
(the order alternating from round to round) so that a noisy neighbour or a frequency change hits both alike.
Every document is timed on its own; the report gives the median per-document time of each variant, the
certificates per second that follows, and the ratio, which is the figure to compare between machines
(docs: /work/shared/reference/performance.md, sections 4 and 7). Never assert these timings in tests.

Writes the table to stdout and the figures to bench/results/certificates.json (not committed).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from shared.certificates.content import CertificateContent, SessionRow
from shared.certificates.pdf import render_certificate, render_certificate_naively
from shared.conference import load_conference

RESULTS = Path(__file__).parent / "results" / "certificates.json"

Renderer = Callable[[CertificateContent], bytes]

_NAMES = (
    "Łukasz Nguyễn-Żółć",
    "Ana Lopez",
    "Øyvind Ærøskøbing",
    "Şükrü Çağlar",
    "Zoë Müller-Łukasiewicz",
    "Đặng Thị Nguyệt Ánh",
    "María José García Fernández de la Peña",
)


def sample_contents() -> list[CertificateContent]:
    """A few realistic certificates, different names (so different font subsets) and ids, each with the table of the
    seed conference's sessions (most attendees attended all but one or two), an organization and a licence id."""
    conference = load_conference()
    rows = [
        SessionRow(
            date=f"{s.day.day} Aug {s.day.year}",
            title=s.title,
            speakers=", ".join(s.speakers),
            minutes=s.scheduled_minutes,
        )
        for s in conference.sessions
    ]
    contents = []
    for index, name in enumerate(_NAMES):
        certificate_id = f"crt_abcdefghijklmnop_{index + 1}qrstuvwxyz234567"
        contents.append(
            CertificateContent(
                attendee_name=name,
                conference_name="2020 NASRO Virtual National School Safety Conference",
                organizer="National Association of School Resource Officers",
                dates="5\u20137 August 2020",  # an en dash, as a date range is printed
                hours=15.5 - index * 0.25,
                issued_on="7 August 2020",
                certificate_id=certificate_id,
                verification_url=f"https://conference.example.org/verify/{certificate_id}",
                organization=f"Springfield Police Department, District {index + 1}",
                license_id=f"IL-{index + 1:05d}",
                sessions=tuple(row for position, row in enumerate(rows) if position % len(_NAMES) != index),
                signatory_name="Mo Canady",
                signatory_title="Executive Director",
            )
        )
    return contents


@dataclass
class Variant:
    name: str
    render: Renderer
    samples_ms: list[float]  # one per document
    round_medians_ms: list[float]


def time_documents(render: Renderer, contents: Sequence[CertificateContent], documents: int) -> list[float]:
    """Milliseconds for each of `documents` renders, cycling through the contents."""
    samples = []
    for index in range(documents):
        content = contents[index % len(contents)]
        started = time.perf_counter_ns()
        render(content)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def run(rounds: int, documents: int, warmup: int) -> dict[str, Any]:
    contents = sample_contents()

    # The very first certificate of the process pays for parsing and registering the fonts.
    started = time.perf_counter_ns()
    pdf = render_certificate(contents[0])
    first_ms = (time.perf_counter_ns() - started) / 1e6

    variants = [
        Variant("render_certificate (fonts once per process)", render_certificate, [], []),
        Variant("render_certificate_naively (fonts per document)", render_certificate_naively, [], []),
    ]
    for variant in variants:
        time_documents(variant.render, contents, warmup)

    for round_index in range(rounds):
        order = variants if round_index % 2 == 0 else variants[::-1]
        for variant in order:
            gc.collect()
            samples = time_documents(variant.render, contents, documents)
            variant.samples_ms.extend(samples)
            variant.round_medians_ms.append(statistics.median(samples))

    ours, naive = variants
    figures = {
        key: {
            "function": variant.render.__name__,
            "median_ms": round(statistics.median(variant.samples_ms), 3),
            "certificates_per_second": round(1000 / statistics.median(variant.samples_ms), 1),
            "round_medians_ms": [round(value, 3) for value in variant.round_medians_ms],
            "min_ms": round(min(variant.samples_ms), 3),
            "p90_ms": round(statistics.quantiles(variant.samples_ms, n=10)[-1], 3),
        }
        for key, variant in (("ours", ours), ("naive", naive))
    }
    return {
        "benchmark": "certificate PDF rendering, one process, one thread",
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "reportlab": version("reportlab"),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "rounds": rounds,
        "documents_per_round": documents,
        "warmup_documents": warmup,
        "first_certificate_ms": round(first_ms, 3),
        "pdf_bytes": len(pdf),
        **figures,
        "ratio_naive_to_ours": round(statistics.median(naive.samples_ms) / statistics.median(ours.samples_ms), 2),
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"Certificates, {result['rounds']} interleaved rounds x {result['documents_per_round']} documents per variant "
        f"(python {result['python']}, reportlab {result['reportlab']}):",
        "",
        f"  {'variant':<28} {'median ms/cert':>14} {'certs/s/core':>12} {'round medians ms (min-max)':>27}",
    ]
    for key in ("ours", "naive"):
        row = result[key]
        spread = f"{min(row['round_medians_ms']):.2f}-{max(row['round_medians_ms']):.2f}"
        lines.append(
            f"  {row['function']:<28} {row['median_ms']:>14.2f} {row['certificates_per_second']:>12.1f} {spread:>27}"
        )
    lines += [
        "",
        f"  ratio (naive / ours): {result['ratio_naive_to_ours']:.2f}x",
        f"  first certificate in the process (fonts parsed): {result['first_certificate_ms']:.1f} ms",
        f"  PDF size: {result['pdf_bytes']} bytes",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--documents", type=int, default=50, help="documents per variant per round")
    parser.add_argument("--warmup", type=int, default=10, help="documents per variant before measuring")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    if arguments.rounds < 1 or arguments.documents < 2 or arguments.warmup < 0:
        parser.error("need at least 1 round of 2 documents")

    result = run(arguments.rounds, arguments.documents, arguments.warmup)
    print(table(result))
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\n  written to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
