from __future__ import annotations

from shared.adapters.dynamodb_certificates import DynamoCertificateRepository
from shared.adapters.dynamodb_reactions import DynamoReactionRepository
from shared.adapters.s3_certificates import S3CertificateFiles
from shared.adapters.ses_mailer import SesMailer
from shared.clock import wall_clock
from shared.composition.common import event_catalog, seed_conference
from shared.email import Mailbox
from shared.jobs.pacing import PacedMailer, Pacer
from shared.reactions.ports import Mailer
from shared.reactions.service import ReactionService
from shared.settings import ReactionSettings


def reaction_service(settings: ReactionSettings, pacer: Pacer | None = None) -> ReactionService:
    """`pacer`: every send waits for its slot (the bulk sender's; the stream's sends are not paced)."""
    # Each email comes from its event (name and sender); this one is the mailer's fallback only.
    sender = Mailbox(display_name="Conference", address=settings.sender_address or seed_conference(settings).sender)
    mailer: Mailer = SesMailer(sender, settings.ses_configuration_set or None)
    return ReactionService(
        events=event_catalog(settings),
        sender_address=settings.sender_address,
        repository=DynamoReactionRepository(settings.table_name),
        mailer=mailer if pacer is None else PacedMailer(mailer, pacer),
        wall_clock=wall_clock,
        site_url=settings.site_url,
        certificates=S3CertificateFiles(settings.certificates_bucket, DynamoCertificateRepository(settings.table_name)),
    )
