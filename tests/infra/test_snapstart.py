"""SnapStart: which functions publish versions with it, that the HTTP API invokes those versions, and what their
runtime hooks put in a snapshot and renew after a restore (shared/snapstart.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.template import load_template, translated_template

ROOT = Path(__file__).resolve().parents[2]
SNAPSTART = {"RegistrationApiFunction", "StripeWebhookFunction"}


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translated_template()


def functions(sam: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def handler_file(resource: dict[str, Any]) -> Path:
    return ROOT / (resource["Properties"]["Handler"].rpartition(".")[0].replace(".", "/") + ".py")


def test_the_registrant_facing_functions_publish_versions_with_snapstart_behind_an_alias(sam) -> None:
    with_snapstart = {
        name
        for name, resource in functions(sam).items()
        if resource["Properties"].get("SnapStart") == {"ApplyOn": "PublishedVersions"}
    }
    assert with_snapstart == SNAPSTART
    # SnapStart applies to published versions only, never $LATEST: SAM publishes one per change and points the alias
    # at it; per change of any property, since a version keeps the environment it was published with
    for name in SNAPSTART:
        properties = functions(sam)[name]["Properties"]
        assert properties.get("AutoPublishAlias") == "live"
        assert properties.get("AutoPublishAliasAllProperties") is True


def test_snapstart_functions_keep_to_what_it_supports(sam) -> None:
    # Python 3.12+; no provisioned concurrency, no EFS, at most 512 MB of /tmp (the Lambda guide's limitations)
    runtime = sam["Globals"]["Function"]["Runtime"]
    assert re.fullmatch(r"python3\.(\d+)", runtime) and int(runtime.split(".")[1]) >= 12
    for name in SNAPSTART:
        properties = sam["Globals"]["Function"] | functions(sam)[name]["Properties"]
        assert properties.get("Runtime", runtime) == runtime
        assert "ProvisionedConcurrencyConfig" not in properties
        assert "FileSystemConfigs" not in properties
        assert properties.get("EphemeralStorage", {"Size": 512})["Size"] <= 512


def test_the_http_api_invokes_the_published_alias_of_a_snapstart_function(cfn) -> None:
    # Else every request would run $LATEST, which is never restored from a snapshot
    body = json.dumps(cfn["Resources"]["HttpApi"]["Properties"]["Body"])
    for name in SNAPSTART:
        assert f"${{{name}Aliaslive}}" in body
        assert f"${{{name}.Arn}}" not in body and f"${{{name}}}/" not in body
        permissions = [
            resource
            for resource in cfn["Resources"].values()
            if resource["Type"] == "AWS::Lambda::Permission"
            and resource["Properties"]["FunctionName"] in ({"Ref": name}, {"Ref": f"{name}Aliaslive"})
        ]
        assert permissions and all(p["Properties"]["FunctionName"] == {"Ref": f"{name}Aliaslive"} for p in permissions)


def test_exactly_the_snapstart_functions_register_runtime_hooks(sam) -> None:
    registering = {
        name for name, resource in functions(sam).items() if "use_snapstart(" in handler_file(resource).read_text()
    }
    assert registering == SNAPSTART


# The library Lambda's Python runtimes ship, as its registry works: each registration kept with its arguments.
FAKE_LIBRARY = """
before, after = [], []
def register_before_snapshot(func, *args, **kwargs):
    before.append((func, args, kwargs))
    return func
def register_after_restore(func, *args, **kwargs):
    after.append((func, args, kwargs))
    return func
"""

PROBE = """
import json, random, sys
import {module}
import snapshot_restore_py as hooks
import pydantic
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider
from shared.adapters.stripe_gateway import stripe_client
from shared.models import Model
from shared.registration.models import registration_request_adapter

def models(base):
    for model in base.__subclasses__():
        yield model
        yield from models(model)

seen = {{"stripe_at_import": "stripe" in sys.modules, "before": len(hooks.before), "after": len(hooks.after)}}
# As if Init had read the Stripe key and made a client with it
DEFAULT_PROVIDERS["secrets"] = provider = SecretsProvider()
provider.add_to_cache(key=("stripe-secret-key", None), value="sk_test_in_memory", max_age=300)
stripe_client("sk_test_in_memory", "http://127.0.0.1:1")
for func, args, kwargs in hooks.before:
    func(*args, **kwargs)
seen |= {{
    "stripe_before_snapshot": "stripe._stripe_client" in sys.modules,
    "loaded_before_snapshot": sorted(
        name for name in ("email_validator", "aws_lambda_powertools.utilities.idempotency") if name in sys.modules
    ),
    "unbuilt_models": sorted(m.__qualname__ for m in models(Model) if not m.__pydantic_complete__),
    "request_validator_built": registration_request_adapter.pydantic_complete,
    "secrets_cached": sum(len(p.store) for p in DEFAULT_PROVIDERS.values()),
    "stripe_clients_cached": stripe_client.cache_info().currsize,
}}
random.seed(1)
snapshot_state = random.getstate()
for func, args, kwargs in hooks.after:
    func(*args, **kwargs)
seen["random_reseeded"] = random.getstate() != snapshot_state
print(json.dumps(seen))
"""


def with_snapstart_hooks(function: str, tmp_path: Path) -> dict[str, Any]:
    """In a fresh interpreter with the runtime hooks' library present: the handler imported, then its before-snapshot
    hooks run (after Init had cached a secret and a Stripe client), then its after-restore hooks."""
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_LIBRARY)
    module = handler_file(functions(load_template())[function]).relative_to(ROOT).with_suffix("")
    environment = dict(os.environ) | {
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=".".join(module.parts))],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("function", sorted(SNAPSTART))
def test_the_snapshot_holds_the_loaded_sdk_and_built_models_but_no_secret_or_client(function, tmp_path) -> None:
    # Given a SnapStart function's handler, imported where the runtime hooks' library is (as on Lambda)
    seen = with_snapstart_hooks(function, tmp_path)
    # Then it registered one hook of each kind, and its import did not load Stripe
    assert (seen["before"], seen["after"]) == (1, 1)
    assert seen["stripe_at_import"] is False
    # When the before-snapshot hook runs: the Stripe SDK's client is loaded and every model's validator built
    assert seen["stripe_before_snapshot"] is True
    assert seen["unbuilt_models"] == []
    # (and where registrations are made: the request's validator, an adapter rather than a model, the address
    # validator and Powertools Idempotency, which the registration function's import leaves to a first request)
    registers = function == "RegistrationApiFunction"
    assert seen["request_validator_built"] is registers
    assert seen["loaded_before_snapshot"] == (
        ["aws_lambda_powertools.utilities.idempotency", "email_validator"] if registers else []
    )
    # And what Init had cached of secrets, and the clients made with them, are not in the snapshot
    assert seen["secrets_cached"] == 0
    assert seen["stripe_clients_cached"] == 0
    # And a restored environment draws its own random numbers (retry jitter), not the snapshot's
    assert seen["random_reseeded"] is True


def test_without_the_hooks_library_nothing_is_registered_and_nothing_primed() -> None:
    # Given this machine (no snapshot_restore_py: it ships only with Lambda's runtimes), When a handler is imported
    probe = (
        "import sys, functions.registration_api.handler\n"
        "from shared.registration.models import registration_request_adapter as a\n"
        "print('snapshot_restore_py' in sys.modules, 'stripe' in sys.modules, a.pydantic_complete)"
    )
    environment = dict(os.environ) | {"POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=environment, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    # Then no hook library, no Stripe, no request validator: each loads with the first request that uses it
    assert out == ["False", "False", "False"]
