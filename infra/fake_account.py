"""The one fake AWS account every local run uses: `make run`, the tests, the bench and the fault run.

Call `use_fake_account()` before anything creates a boto3 client and before any module of shared/ is imported:
Lambda sets a function's environment before its modules load, and Powertools reads its settings at import.
"""

from __future__ import annotations

import os

from infra.template import static_global_environment

FAKE_ACCOUNT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # botocore 1.44 sends stream calls to an account-id endpoint moto does not route.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    # One moto server serialises every call; under load, calls queue longer than AWS would ever take.
    "AWS_CLIENT_READ_TIMEOUT_SECONDS": "60",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


def use_fake_account(**settings: str) -> None:
    """The fake account, then the template's static Globals (as Lambda applies them), then `settings` (say,
    POWERTOOLS_METRICS_DISABLED="true" where metrics would only bury the output). Real credentials or endpoints in
    the environment are replaced: nothing local may ever reach a real AWS account."""
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(FAKE_ACCOUNT)
    os.environ.update(static_global_environment())
    os.environ.update(settings)
