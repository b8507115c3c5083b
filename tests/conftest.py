"""Settings every suite shares: a fake AWS account in one region, and no real endpoint ever."""

from __future__ import annotations

import os

# Before anything creates a boto3 client: a fake account, one region, no real endpoint ever.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    # botocore 1.44 sends stream calls to an account-id endpoint moto does not route.
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_DEV="false",
    # One moto server serialises every call: concurrent tests queue behind each other (see shared/adapters/aws.py).
    AWS_CLIENT_READ_TIMEOUT_SECONDS="60",
)

# Lambda sets a function's environment before its modules are imported; Powertools reads its settings at
# import. pytest imports every test module (and so shared.observability) before any fixture runs, so the
# template's static Globals are applied here, read from the template itself.
from infra.template import static_global_environment

os.environ.update(static_global_environment())
