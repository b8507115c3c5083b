"""Organisers' events: versions, the edits refused, publishing, the seed load, the catalog's cache."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from shared.clock import FixedClock
from shared.conference import DEFAULT_CONFERENCE_FILE, load_conference
from shared.conference.models import ConferenceFile, EventDocument
from shared.errors import ChangeRefused, Forbidden, NotFound, VersionConflict
from shared.events.catalog import EventCatalog
from shared.events.models import EventAction
from shared.events.service import EventService, slug
from tests.support.fakes_events import FakeSchedules, FakeUsage, InMemoryEvents, document_of

SEED = ConferenceFile.model_validate_json(DEFAULT_CONFERENCE_FILE.read_bytes())
AT = datetime(2026, 12, 3, 12, tzinfo=UTC)
ORGANISER = "support@example.org"


@pytest.fixture
def events() -> InMemoryEvents:
    return InMemoryEvents()


@pytest.fixture
def usage() -> FakeUsage:
    return FakeUsage()


@pytest.fixture
def schedules() -> FakeSchedules:
    return FakeSchedules()


@pytest.fixture
def catalog(events) -> EventCatalog:
    return EventCatalog(events, ttl_seconds=30, monotonic=lambda: 0.0)


@pytest.fixture
def service(events, usage, schedules, catalog) -> EventService:
    return EventService(repository=events, usage=usage, schedules=schedules, catalog=catalog, wall_clock=FixedClock(AT))


def edited(document: EventDocument, **changes: object) -> EventDocument:
    return EventDocument.model_validate(document.model_dump() | changes)


def moved(document: EventDocument, session_id: str, starts: time, ends: time) -> EventDocument:
    agenda = [
        entry.model_copy(update={"starts": starts, "ends": ends}) if entry.id == session_id else entry
        for entry in document.agenda
    ]
    return edited(document, agenda=agenda)


class TestSeed:
    def test_an_empty_stack_gets_the_seed_published_featured_and_scheduled(self, service, events, schedules) -> None:
        assert service.seed(SEED) is True

        record = events.records["nasro-2020"]
        assert record.published and record.version == 1 and record.updated_by == "system"
        assert events.featured == "nasro-2020"
        assert [c.action for c in events.history("nasro-2020")] == [EventAction.SEEDED]
        (certificates,) = [s for s in schedules.groups["nasro-2020"] if s.name == "certificates"]
        assert certificates.at == datetime(2020, 8, 7, 17, tzinfo=load_conference().zone)
        # and the reminders: a week, a day and an hour before the first session
        reminders = {s.name: s.at for s in schedules.groups["nasro-2020"] if s.target == "reminders"}
        first = datetime(2020, 8, 5, 9, tzinfo=load_conference().zone)
        assert reminders == {
            "reminder-week": first - timedelta(days=7),
            "reminder-day": first - timedelta(days=1),
            "reminder-hour": first - timedelta(hours=1),
        }

    def test_loading_again_changes_nothing(self, service, events) -> None:
        service.seed(SEED)
        service.replace("nasro-2020", edited(SEED.document(), name="Renamed"), expected_version=1,
                        actor=ORGANISER, force=False, may_force=False)  # fmt: skip

        assert service.seed(SEED) is False
        assert events.records["nasro-2020"].document.name == "Renamed"
        assert events.records["nasro-2020"].version == 2

    def test_a_stack_with_other_events_is_not_seeded_but_gets_a_featured_one(self, service, events) -> None:
        created = service.create(edited(SEED.document(), name="Spring Training 2021"), actor=ORGANISER)

        assert service.seed(SEED) is False
        assert set(events.records) == {created.event_id}
        assert events.featured == created.event_id


class TestCreate:
    def test_a_new_event_is_unpublished_at_version_one_with_an_id_from_its_name(self, service, events) -> None:
        saved = service.create(edited(SEED.document(), name="Annual Conference 2027: Chicago!"), actor=ORGANISER)

        assert saved.event_id == "annual-conference-2027-chicago"
        assert (saved.version, saved.published) == (1, False)
        assert events.history(saved.event_id)[0].actor == ORGANISER

    def test_a_new_event_gets_its_own_schedules_in_its_zone_and_the_others_keep_theirs(
        self, service, schedules
    ) -> None:
        service.seed(SEED)
        seeded = list(schedules.groups["nasro-2020"])
        spring = edited(SEED.document(), name="Spring Training", timezone="Europe/Berlin", starts_on="2021-04-06",
                        ends_on="2021-04-06", agenda=[
                            {"id": "s1", "title": "Morning", "kind": "workshop", "day": "2021-04-06",
                             "starts": "09:00", "ends": "11:00"},
                            {"id": "s2", "title": "Afternoon", "kind": "workshop", "day": "2021-04-06",
                             "starts": "13:00", "ends": "15:00"},
                        ])  # fmt: skip

        saved = service.create(spring, actor=ORGANISER)

        # Its group: certificates two hours after its last session, reminders before its first, in Berlin time
        berlin = ZoneInfo("Europe/Berlin")
        first = datetime(2021, 4, 6, 9, tzinfo=berlin)
        assert {s.name: s.at for s in schedules.groups[saved.event_id]} == {
            "certificates": datetime(2021, 4, 6, 17, tzinfo=berlin),
            "reminder-week": first - timedelta(days=7),
            "reminder-day": first - timedelta(days=1),
            "reminder-hour": first - timedelta(hours=1),
        }
        assert schedules.groups["nasro-2020"] == seeded

    def test_a_taken_name_gets_a_suffix(self, service) -> None:
        first = service.create(edited(SEED.document(), name="Spring Training"), actor=ORGANISER)
        second = service.create(edited(SEED.document(), name="Spring Training"), actor=ORGANISER)

        assert first.event_id == "spring-training"
        assert second.event_id.startswith("spring-training-") and second.event_id != first.event_id

    def test_slugs_are_ascii_words(self) -> None:
        assert slug("Conférence d'été — 2027") == "conference-d-ete-2027"


class TestEdit:
    def test_an_edit_is_the_next_version_with_its_actor_and_changed_fields(self, service, events) -> None:
        service.seed(SEED)
        saved = service.replace("nasro-2020", moved(SEED.document(), "d3-closing", time(14, 30), time(15, 15)),
                                expected_version=1, actor=ORGANISER, force=False, may_force=False)  # fmt: skip

        assert saved.version == 2
        change = events.history("nasro-2020")[-1]
        assert (change.version, change.actor, change.action, change.changed) == (
            2, ORGANISER, EventAction.UPDATED, ["agenda"],
        )  # fmt: skip

    def test_a_stale_version_is_refused_and_nothing_changes(self, service, events) -> None:
        service.seed(SEED)
        service.replace("nasro-2020", edited(SEED.document(), name="First"), expected_version=1,
                        actor=ORGANISER, force=False, may_force=False)  # fmt: skip

        with pytest.raises(VersionConflict):
            service.replace("nasro-2020", edited(SEED.document(), name="Second"), expected_version=1,
                            actor=ORGANISER, force=False, may_force=False)  # fmt: skip
        assert events.records["nasro-2020"].document.name == "First"

    def test_moving_the_last_session_moves_the_certificate_schedule(self, service, schedules) -> None:
        service.seed(SEED)
        service.replace("nasro-2020", moved(SEED.document(), "d3-closing", time(16, 0), time(17, 0)),
                        expected_version=1, actor=ORGANISER, force=False, may_force=False)  # fmt: skip

        (certificates,) = [s for s in schedules.groups["nasro-2020"] if s.name == "certificates"]
        assert certificates.at == datetime(2020, 8, 7, 19, tzinfo=load_conference().zone)

    def test_the_fee_cannot_change_once_people_registered(self, service, usage, events) -> None:
        service.seed(SEED)
        usage.registered.add("nasro-2020")
        dearer = edited(SEED.document(), fee={"amount": 25000, "currency": "usd"})

        with pytest.raises(ChangeRefused, match="fee"):
            service.replace("nasro-2020", dearer, expected_version=1, actor=ORGANISER, force=False, may_force=False)
        assert events.records["nasro-2020"].version == 1

    def test_the_fee_may_change_before_anyone_registers(self, service) -> None:
        service.seed(SEED)
        dearer = edited(SEED.document(), fee={"amount": 25000, "currency": "usd"})

        assert service.replace("nasro-2020", dearer, expected_version=1, actor=ORGANISER,
                               force=False, may_force=False).version == 2  # fmt: skip

    def test_a_session_someone_attended_cannot_be_removed_but_may_move(self, service, usage) -> None:
        service.seed(SEED)
        usage.attended["nasro-2020"] = {"d1-welcome"}
        without = edited(SEED.document(), agenda=[e for e in SEED.document().agenda if e.id != "d1-welcome"])

        with pytest.raises(ChangeRefused, match="d1-welcome"):
            service.replace("nasro-2020", without, expected_version=1, actor=ORGANISER, force=False, may_force=False)
        later = moved(SEED.document(), "d1-welcome", time(8, 0), time(8, 45))
        assert service.replace("nasro-2020", later, expected_version=1, actor=ORGANISER,
                               force=False, may_force=False).version == 2  # fmt: skip

    def test_an_administrator_may_force_a_refused_change_and_the_history_says_so(self, service, usage, events) -> None:
        service.seed(SEED)
        usage.registered.add("nasro-2020")
        dearer = edited(SEED.document(), fee={"amount": 25000, "currency": "usd"})

        with pytest.raises(Forbidden):
            service.replace("nasro-2020", dearer, expected_version=1, actor=ORGANISER, force=True, may_force=False)
        service.replace("nasro-2020", dearer, expected_version=1, actor="admin@example.org", force=True, may_force=True)
        assert events.history("nasro-2020")[-1].forced is True

    def test_an_unknown_event_is_not_found(self, service) -> None:
        with pytest.raises(NotFound):
            service.replace("no-such-event", SEED.document(), expected_version=1, actor=ORGANISER,
                            force=False, may_force=False)  # fmt: skip


class TestPublishing:
    def test_publish_and_unpublish_are_versions_and_repeats_change_nothing(self, service, events) -> None:
        saved = service.create(edited(SEED.document(), name="Spring Training"), actor=ORGANISER)

        assert service.set_published(saved.event_id, True, actor=ORGANISER).version == 2
        assert service.set_published(saved.event_id, True, actor=ORGANISER).version == 2
        assert service.set_published(saved.event_id, False, actor=ORGANISER).published is False
        actions = [c.action for c in events.history(saved.event_id)]
        assert actions == [EventAction.CREATED, EventAction.PUBLISHED, EventAction.UNPUBLISHED]

    def test_only_a_published_event_can_be_featured(self, service, events) -> None:
        saved = service.create(edited(SEED.document(), name="Spring Training"), actor=ORGANISER)

        with pytest.raises(ChangeRefused):
            service.feature(saved.event_id, actor=ORGANISER)
        service.set_published(saved.event_id, True, actor=ORGANISER)
        assert service.feature(saved.event_id, actor=ORGANISER).version == 3
        assert service.feature(saved.event_id, actor=ORGANISER).version == 3  # already featured: nothing new
        assert events.featured == saved.event_id
        assert events.history(saved.event_id)[-1].action is EventAction.FEATURED

    def test_the_list_marks_the_featured_and_unpublished_events(self, service) -> None:
        service.seed(SEED)
        service.create(edited(SEED.document(), name="Spring Training", starts_on="2021-04-01", ends_on="2021-04-02",
                              agenda=[{"id": "s1", "title": "Only", "kind": "workshop", "day": "2021-04-01",
                                       "starts": "09:00", "ends": "10:00"}]), actor=ORGANISER)  # fmt: skip

        listed = {(e.id, e.published, e.featured) for e in service.listed()}
        assert listed == {("nasro-2020", True, True), ("spring-training", False, False)}


class TestCatalog:
    def test_an_event_is_read_once_per_ttl_and_an_own_edit_is_seen_at_once(self, service, events) -> None:
        service.seed(SEED)
        now = [0.0]
        catalog = EventCatalog(events, ttl_seconds=30, monotonic=lambda: now[0])
        reads = events.reads

        catalog.conference("nasro-2020")
        catalog.conference("nasro-2020")
        assert events.reads == reads + 1
        now[0] = 31
        catalog.conference("nasro-2020")
        assert events.reads == reads + 2

    def test_unpublished_unknown_and_malformed_ids_are_not_found_for_the_public(self, service, catalog) -> None:
        service.seed(SEED)
        hidden = service.create(edited(SEED.document(), name="Hidden"), actor=ORGANISER)

        assert catalog.conference(hidden.event_id).name == "Hidden"  # its attendees still work against it
        for event_id in (hidden.event_id, "no-such-event", "x" * 2000, "../etc"):
            with pytest.raises(NotFound):
                catalog.published(event_id)

    def test_the_featured_event_is_what_get_conference_answers(self, service, catalog) -> None:
        service.seed(SEED)
        assert catalog.featured().id == "nasro-2020"

    def test_a_stack_without_events_has_no_featured_one(self, catalog) -> None:
        with pytest.raises(NotFound):
            catalog.featured()


class TestDocument:
    def test_the_seed_round_trips_through_the_editable_document(self) -> None:
        conference = load_conference()
        assert document_of(conference) == SEED.document()

    def test_overlapping_sessions_and_unsafe_join_links_are_refused(self) -> None:
        agenda = SEED.document().model_dump()["agenda"]
        agenda[1] = agenda[1] | {"starts": time(9, 15)}
        with pytest.raises(ValueError, match="overlap"):
            EventDocument.model_validate(SEED.document().model_dump() | {"agenda": agenda})
        agenda = SEED.document().model_dump()["agenda"]
        agenda[0] = agenda[0] | {"join_url": "javascript:alert(1)"}
        with pytest.raises(ValueError, match="join_url"):
            EventDocument.model_validate(SEED.document().model_dump() | {"agenda": agenda})

    def test_registration_closes_before_it_opens_is_refused(self) -> None:
        window = SEED.document().registration.model_dump() | {
            "opens_at": datetime(2020, 7, 1, tzinfo=UTC), "closes_at": datetime(2020, 6, 1, tzinfo=UTC),
        }  # fmt: skip
        with pytest.raises(ValueError, match="closes before it opens"):
            EventDocument.model_validate(SEED.document().model_dump() | {"registration": window})


@pytest.mark.parametrize(
    ("session", "change", "field"),
    [
        (1, {"starts": time(9, 15)}, ("agenda", 1, "starts")),
        (0, {"day": "2020-08-09"}, ("agenda", 0, "day")),
        (12, {"ends": time(8, 0)}, ("agenda", 12, "ends")),
    ],
    ids=["overlap", "outside the dates", "ends before it starts"],
)
def test_a_check_across_fields_names_the_field_to_correct(session: int, change: dict, field: tuple) -> None:
    agenda = SEED.document().model_dump()["agenda"]
    agenda[session] = agenda[session] | change
    with pytest.raises(ValidationError) as refused:
        EventDocument.model_validate(SEED.document().model_dump() | {"agenda": agenda})
    assert [error["loc"] for error in refused.value.errors()] == [field]
