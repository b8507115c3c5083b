from __future__ import annotations

from shared.adapters.dynamodb_admin import DynamoAdminRepository
from shared.adapters.dynamodb_attendance import DynamoAttendanceRepository
from shared.adapters.dynamodb_certificates import DynamoCertificateRepository
from shared.adapters.dynamodb_limits import DynamoCounters
from shared.adapters.s3_certificates import S3CertificateFiles
from shared.attendance.platform import PlatformImportService
from shared.attendance.roster import AttendanceRoster
from shared.attendance.service import AttendanceService
from shared.clock import conference_clock, wall_clock
from shared.composition.common import event_catalog
from shared.limits import ClientLimits
from shared.settings import AttendanceSettings, TableSettings


def attendance_service(settings: AttendanceSettings) -> AttendanceService:
    return AttendanceService(
        events=event_catalog(settings),
        repository=DynamoAttendanceRepository(settings.table_name),
        certificates=S3CertificateFiles(settings.certificates_bucket, DynamoCertificateRepository(settings.table_name)),
        conference_clock=conference_clock,
        wall_clock=wall_clock,
        limits=ClientLimits(counters=DynamoCounters(settings.table_name), wall_clock=wall_clock),
        failure_limit=settings.sign_in_failures_per_address,
        access_code_limit=settings.access_code_requests_per_address,
    )


def platform_import_service(settings: TableSettings) -> PlatformImportService:
    return PlatformImportService(
        events=event_catalog(settings), repository=DynamoAttendanceRepository(settings.table_name)
    )


def attendance_roster(settings: TableSettings) -> AttendanceRoster:
    return AttendanceRoster(
        events=event_catalog(settings),
        repository=DynamoAdminRepository(settings.table_name),
        attendance=DynamoAttendanceRepository(settings.table_name),
    )
