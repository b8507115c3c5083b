"""Each function's deployment package: its own handler, the shared code, and only the libraries it imports.

`sam build` calls `make build-<LogicalId>` for every function (`BuildMethod: makefile`), which runs
`python -m infra.packaging build <LogicalId> <ARTIFACTS_DIR>`. Libraries are installed as Lambda will
run them (CPython 3.12, manylinux aarch64 wheels, whatever this machine's own Python is), once per set
of requirements into `build/deps/`, then copied. `python -m infra.packaging check .aws-sam/build` then
proves what each package holds.

The versions come from pyproject.toml's own ranges, so the packages and the tests agree.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPENDENCY_CACHE = ROOT / "build" / "deps"

# Lambda's python3.12 on arm64 runs Amazon Linux 2023 (glibc 2.34): wheels for glibc 2.17 to 2.28 run there.
# pip takes the platform tags literally, so each one is named.
TARGET_PLATFORM = (
    *("--platform", "manylinux2014_aarch64", "--platform", "manylinux_2_28_aarch64"),
    *("--implementation", "cp", "--python-version", "3.12"),
)

# Every function: the AWS SDK (bundled: the tested version, not whatever the runtime ships), Powertools
# with X-Ray, pydantic for validation, email-validator, and tzdata for the conference's time zone
# (zoneinfo falls back to it where the image has no system zone files).
BASE = ("boto3", "aws-lambda-powertools", "pydantic", "email-validator", "tzdata")
# The libraries beyond those, only where they are used (tests/infra/test_function_imports.py holds the
# imports): Stripe's SDK where Stripe is called; reportlab and segno (the QR code) where certificates are drawn,
# icalendar where confirmations (and their calendar attachment) are written.
EXTRA: dict[str, tuple[str, ...]] = {
    "RegistrationApiFunction": ("stripe",),
    "StripeWebhookFunction": ("stripe",),
    "PaymentReconcilerFunction": ("stripe",),
    "AdminApiFunction": ("stripe",),
    "StreamDispatcherFunction": ("reportlab", "segno", "icalendar"),
    # The bulk jobs' worker renders certificates and writes reminders as the dispatcher does.
    "BulkSenderFunction": ("reportlab", "segno", "icalendar"),
    "AttendanceApiFunction": (),
    "CertificateApiFunction": (),
    "CertificateIssuerFunction": (),
    "EventSeedFunction": ("crhelper",),
    "RemindersFunction": (),
    "EmailEventsFunction": (),
    "SitePagesFunction": (),
}
# What each function imports of them when its container starts: Stripe's SDK loads with the first call to Stripe
# (shared/adapters/stripe_gateway.py; before the snapshot in the two SnapStart functions, shared/snapstart.py); the
# stream dispatcher and the bulk worker load reportlab and segno only with their first certificate (the PDF module
# is imported where a certificate is drawn, shared/reactions/service.py) and icalendar only with their first
# confirmation (shared/email/calendar.py). Only the event seed's crhelper, which its handler is built on, loads at once.
IMPORTED_AT_COLD_START = {function: tuple(p for p in extra if p == "crhelper") for function, extra in EXTRA.items()}
# The large ones: a package that bundles one it does not use is wrong too. (segno is small, 0.3 MB: only its
# absence where it is used is a problem.)
HEAVY = ("stripe", "reportlab")
LAMBDA_ABI = "cpython-312-aarch64-linux-gnu"
# The Lambda limit is 250 MB unzipped, layers included.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower()


def project_requirements() -> dict[str, str]:
    """pyproject's runtime dependencies by package name, with their extras and version ranges."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        dependencies: list[str] = tomllib.load(handle)["project"]["dependencies"]
    return {_name(requirement): requirement for requirement in dependencies}


def requirements_for(function: str) -> list[str]:
    known = project_requirements()
    wanted = (*BASE, *EXTRA[function])
    return sorted(known.get(name, name) for name in wanted)


def handler_package(template: dict[str, object], function: str) -> str:
    """`functions.registration_api` from the template's `functions.registration_api.handler.lambda_handler`."""
    resources = template["Resources"]
    assert isinstance(resources, dict)
    handler: str = resources[function]["Properties"]["Handler"]
    return handler.rsplit(".", 2)[0]


def _installed_dependencies(requirements: list[str]) -> Path:
    key = hashlib.sha256("\n".join([*TARGET_PLATFORM, *requirements]).encode()).hexdigest()[:16]
    target = DEPENDENCY_CACHE / key
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    command += ["--only-binary=:all:", *TARGET_PLATFORM, "--target", str(target), *requirements]
    subprocess.run(command, check=True)  # noqa: S603 -- pip with our own fixed arguments
    (target / ".complete").touch()
    return target


IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".complete")


def build(function: str, artifacts: Path) -> None:
    dependencies = _installed_dependencies(requirements_for(function))
    shutil.copytree(dependencies, artifacts, dirs_exist_ok=True, ignore=IGNORED)
    copy_code(function, artifacts)


def copy_code(function: str, artifacts: Path) -> None:
    """The project's own part of the package: the function's directory (with any data beside its handler, such as
    the site's pages) and the shared code."""
    from infra.template import load_template

    package = handler_package(load_template(), function)
    functions_dir = artifacts / "functions"
    functions_dir.mkdir(exist_ok=True)
    shutil.copy2(ROOT / "functions" / "__init__.py", functions_dir / "__init__.py")
    shutil.copytree(ROOT / package.replace(".", "/"), artifacts / package.replace(".", "/"), ignore=IGNORED)
    shutil.copytree(ROOT / "shared", artifacts / "shared", ignore=IGNORED, dirs_exist_ok=True)


def problems_in(build_dir: Path) -> list[str]:
    """What is wrong with `sam build`'s output: a missing handler, data file or library, a heavy one out of
    place."""
    from infra.template import load_template

    template = load_template()
    problems: list[str] = []
    for function, extra in EXTRA.items():
        artifact = build_dir / function
        handler_file = artifact / handler_package(template, function).replace(".", "/") / "handler.py"
        needed = [handler_file, artifact / "shared" / "conference" / "nasro-2020.json", artifact / "boto3"]
        needed += [artifact / "aws_lambda_powertools", artifact / "pydantic_core", artifact / "tzdata"]
        problems += [f"{function}: {path.relative_to(build_dir)} is missing" for path in needed if not path.exists()]
        if "reportlab" in extra and not any((artifact / "shared" / "certificates" / "fonts").glob("*.ttf")):
            problems.append(f"{function}: the certificate fonts are missing")
        if function == "SitePagesFunction":
            static = artifact / "functions" / "site_pages" / "static"
            pages = {path.name for path in (ROOT / "functions" / "site_pages" / "static").iterdir()}
            problems += [
                f"{function}: static/{name} is missing" for name in sorted(pages) if not (static / name).exists()
            ]
        for library in sorted({*HEAVY, *extra}):
            present = (artifact / library).is_dir()
            if present != (library in extra):
                problems.append(f"{function}: {library} is {'bundled but unused' if present else 'missing'}")
        extensions = [path.name for path in artifact.rglob("*.cpython-*.so")]
        problems += [
            f"{function}: {name} is not for CPython 3.12 on arm64" for name in extensions if LAMBDA_ABI not in name
        ]
        size = sum(path.stat().st_size for path in artifact.rglob("*") if path.is_file())
        if size > MAX_UNZIPPED_BYTES:
            problems.append(f"{function}: {size / 2**20:.0f} MB unzipped, over Lambda's 250 MB")
        print(f"  {function:28} {size / 2**20:6.1f} MB unzipped  + {', '.join(extra) or 'no extra library'}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="build one function's package into ARTIFACTS_DIR")
    build_command.add_argument("function")
    build_command.add_argument("artifacts", type=Path)
    check_command = commands.add_parser("check", help="check every package in sam build's output")
    check_command.add_argument("build_dir", type=Path)
    arguments = parser.parse_args(argv)
    if arguments.command == "build":
        build(arguments.function, arguments.artifacts)
        return 0
    problems = problems_in(arguments.build_dir)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
