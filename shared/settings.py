"""Each function's environment as a validated model, read once per process on first use.

Values come from template.yaml (Globals and the function's own Environment); a missing or malformed
variable fails the first invocation with a clear message instead of a KeyError deep in the code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Self

from pydantic import ConfigDict, Field

from shared.models import Model

NonEmpty = Annotated[str, Field(min_length=1)]


class FromEnvironment(Model):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    @classmethod
    def from_environment(cls) -> Self:
        return cls.model_validate(dict(os.environ))


class TableSettings(FromEnvironment):
    table_name: NonEmpty = Field(alias="TABLE_NAME")
    # The seed: the conference a stack without events starts with (default: the packaged nasro-2020.json).
    conference_file: Path | None = Field(default=None, alias="CONFERENCE_FILE")
    # How long a function keeps an event before reading it again: an organiser's edit reaches it within this.
    event_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(default=30, alias="EVENT_CACHE_SECONDS")


class StripeSettings(TableSettings):
    stripe_api_base: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] = Field(alias="STRIPE_API_BASE")
    stripe_secret_key_name: NonEmpty = Field(alias="STRIPE_SECRET_KEY_NAME")


class RegistrationApiSettings(StripeSettings):
    registrations_per_address: Annotated[int, Field(ge=1, le=100000)] = Field(
        default=100, alias="REGISTRATIONS_PER_ADDRESS"
    )
    idempotency_table_name: NonEmpty = Field(alias="IDEMPOTENCY_TABLE_NAME")
    site_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")] = Field(alias="SITE_URL")


class PaymentSettings(StripeSettings):
    """The webhook and the reconciler: which Stripe mode to expect, and the webhook's signing secrets."""

    stripe_livemode: bool = Field(alias="STRIPE_LIVEMODE")
    stripe_webhook_secret_name: NonEmpty = Field(alias="STRIPE_WEBHOOK_SECRET_NAME")


class AttendanceSettings(TableSettings):
    """The attendance function: the table, and the bucket its attendees' certificates are read from."""

    certificates_bucket: NonEmpty = Field(alias="CERTIFICATES_BUCKET")
    sign_in_failures_per_address: Annotated[int, Field(ge=1, le=10000)] = Field(
        default=20, alias="SIGN_IN_FAILURES_PER_ADDRESS"
    )
    access_code_requests_per_address: Annotated[int, Field(ge=1, le=10000)] = Field(
        default=20, alias="ACCESS_CODE_REQUESTS_PER_ADDRESS"
    )


class ReactionSettings(TableSettings):
    """The stream dispatcher: where confirmation emails point people, and who they come from."""

    certificates_bucket: NonEmpty = Field(alias="CERTIFICATES_BUCKET")
    site_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")] = Field(alias="SITE_URL")
    # Empty: the conference data file's sender. Its domain must be verified in SES.
    sender_address: Annotated[str, Field(pattern=r"^([^@\s,<>]+@[^@\s,<>]+)?$")] = Field(
        default="", alias="SENDER_ADDRESS"
    )
    ses_configuration_set: str = Field(default="", alias="SES_CONFIGURATION_SET")


class CertificateSettings(TableSettings):
    certificate_keys_secret_name: NonEmpty = Field(alias="CERTIFICATE_KEYS_SECRET_NAME")


class JobSettings(TableSettings):
    """The bulk jobs' queue (the triggers put their first page on it; the worker its pages and batches)."""

    jobs_queue_url: NonEmpty = Field(alias="JOBS_QUEUE_URL")


class BulkSenderSettings(ReactionSettings, CertificateSettings, JobSettings):
    """The bulk sender: the stream dispatcher's mail settings, the certificates', and its pacing."""

    max_send_rate: Annotated[float, Field(gt=0, le=100000)] = Field(alias="MAX_SEND_RATE")
    sender_concurrency: Annotated[int, Field(ge=1, le=1000)] = Field(alias="SENDER_CONCURRENCY")
    # How long a task throttled by SES waits before it is tried again (doubled with each throttling, up to 900).
    throttle_backoff_seconds: Annotated[int, Field(ge=0, le=900)] = Field(default=30, alias="THROTTLE_BACKOFF_SECONDS")


class AdminSettings(CertificateSettings, StripeSettings):
    exports_bucket: NonEmpty = Field(alias="EXPORTS_BUCKET")
    certificates_bucket: NonEmpty = Field(alias="CERTIFICATES_BUCKET")  # an erasure deletes the PDFs' versions
    organiser_pool_id: NonEmpty = Field(alias="ORGANISER_POOL_ID")
    # Groups whose members must have MFA set up (comma separated; empty for none).
    organiser_mfa_groups: Annotated[str, Field(pattern=r"^[a-z,]*$")] = Field(default="", alias="ORGANISER_MFA_GROUPS")

    @property
    def mfa_groups(self) -> frozenset[str]:
        return frozenset(name for name in self.organiser_mfa_groups.split(",") if name)


class EventScheduleSettings(TableSettings):
    """Where each event's schedules go (one EventBridge Scheduler group per event) and what they run."""

    schedule_group_prefix: NonEmpty = Field(alias="SCHEDULE_GROUP_PREFIX")
    scheduler_role_arn: NonEmpty = Field(alias="SCHEDULER_ROLE_ARN")
    certificate_issuer_arn: NonEmpty = Field(alias="CERTIFICATE_ISSUER_ARN")
    reminders_arn: NonEmpty = Field(alias="REMINDERS_ARN")


class AdminEventSettings(AdminSettings, EventScheduleSettings):
    pass
