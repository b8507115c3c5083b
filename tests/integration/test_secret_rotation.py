"""Rotated secrets are used without a cold start (issue 17, finding 6): the functions read the Stripe key and the
certificate keys through the secrets' cache at each use, so a rotation shows once that cache's age has passed
(operations.md's promise). Here the cache's age passing is Powertools' cache cleared."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities import parameters

from shared.composition.certificates import KeysFromSecret
from tests.integration.conftest import CERTIFICATE_KEYS


def test_a_new_certificate_key_version_signs_new_ids_once_the_cache_has_aged(aws, stack) -> None:
    # Given the function's keys, reading the secret the template names (version 2 current)
    name = stack.functions["CertificateIssuerFunction"].environment["CERTIFICATE_KEYS_SECRET_NAME"]
    keys = KeysFromSecret(name)
    parameters.clear_caches()
    before = keys.new_id()
    assert before.split("_")[2].startswith("2")

    # When the operator adds version 3 and makes it current, and the cache's five minutes pass
    rotated = json.loads(CERTIFICATE_KEYS)
    rotated["current"], rotated["keys"]["3"] = "3", "33" * 32
    aws.client("secretsmanager").put_secret_value(SecretId=name, SecretString=json.dumps(rotated))
    try:
        parameters.clear_caches()

        # Then the same object signs with version 3, and what version 2 signed still verifies
        after = keys.new_id()
        assert after.split("_")[2].startswith("3")
        assert keys.verifies(before) and keys.verifies(after)
    finally:
        aws.client("secretsmanager").put_secret_value(SecretId=name, SecretString=CERTIFICATE_KEYS)
        parameters.clear_caches()
