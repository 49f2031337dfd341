"""Migration 0020 (and `manage.py backfill_course_of_care`): data from before the course of care gets one
episode per client, its responses grouped into attended sessions by session number or by the clinic's
calendar day, unattributed responses credited to the session's clinician, and rollups equal to a recompute."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from questionnaires.models import CareSession, EpisodeOfCare, MetricRollup, Response, Score
from questionnaires.registry import get_registry
from questionnaires.services.care_backfill import care_backfill
from questionnaires.services.metrics import metrics_recompute
from tests.factories import ClinicFactory, MembershipFactory, TherapyClientFactory
from tests.migration_tools import migrate_to, migrate_to_latest

BEFORE = [("questionnaires", "0019_expected_change_curves")]
AFTER = [("questionnaires", "0020_course_of_care_backfill")]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def latest_schema_afterwards():
    yield
    migrate_to_latest()


def _respond(client, when, *, number=None, clinician=None, questionnaire="srs", total="30", rater="client"):
    registry = get_registry()
    definition = registry.get(questionnaire)
    response = Response.objects.create(
        clinic=client.clinic, client=client, questionnaire_version=registry.version_row(definition),
        session_number=number, authored_at=when, answers={}, status="scored", clinician=clinician, rater=rater,
    )
    Score.objects.create(response=response, plugin_version=definition.version, total=Decimal(total))
    return response


def _rollups() -> set[tuple]:
    return set(MetricRollup.objects.values_list(
        "clinic_id", "scope", "clinician_key", "questionnaire_id", "rater", "period", "period_start", "n",
        "total_sum", "total_sum_squares", "below_cutoff",
    ))


@pytest.fixture
def history(db):
    """Two clinics' pre-course data: one client with app session numbers (plus a loose form on a numbered
    session's day and one on a day of its own), one without any numbers in a far-east time zone."""
    berlin = ClinicFactory(slug="berlin", time_zone="Europe/Berlin")
    alice = MembershipFactory(clinic=berlin).user
    numbered = TherapyClientFactory(clinic=berlin, external_id="numbered")
    numbered.clinicians.add(alice)
    recent = timezone.now() - timedelta(days=3)
    rows = {
        "s1a": _respond(numbered, recent - timedelta(days=14), number=1),
        "s1b": _respond(numbered, recent - timedelta(days=14, minutes=-50), number=1, rater="clinician",
                        clinician=alice, total="36"),
        "s2": _respond(numbered, recent - timedelta(days=7), number=2),
        "s2_loose": _respond(numbered, recent - timedelta(days=7, minutes=-30), questionnaire="ors", total="20"),
        "loose": _respond(numbered, recent, questionnaire="ors", total="25"),
    }
    auckland = ClinicFactory(slug="auckland", time_zone="Pacific/Auckland")
    bob, carol = MembershipFactory(clinic=auckland).user, MembershipFactory(clinic=auckland).user
    daily = TherapyClientFactory(clinic=auckland, external_id="daily")
    daily.clinicians.add(bob, carol)
    # 10:30Z is 23:30 on 1 March in Auckland (NZDT, UTC+13); 11:30Z is 00:30 on 2 March: two sessions.
    rows |= {
        "d1": _respond(daily, datetime(2026, 3, 1, 10, 30, tzinfo=UTC), clinician=bob),
        "d1b": _respond(daily, datetime(2026, 3, 1, 10, 40, tzinfo=UTC)),
        "d2": _respond(daily, datetime(2026, 3, 1, 11, 30, tzinfo=UTC), clinician=bob),
        "d3": _respond(daily, datetime(2026, 3, 9, 1, 0, tzinfo=UTC), clinician=carol),
    }
    already = TherapyClientFactory(clinic=berlin, external_id="already")
    EpisodeOfCare.objects.create(clinic=berlin, client=already, start_date=date(2026, 1, 1))
    rows["already"] = _respond(already, T0)
    metrics_recompute()
    return {"alice": alice, "bob": bob, "carol": carol, "numbered": numbered, "daily": daily, "rows": rows,
            "already": already}


@pytest.mark.django_db(transaction=True)
def test_the_migration_groups_numbered_and_unnumbered_responses_into_sessions(history):
    migrate_to(BEFORE)
    before_rollups = _rollups()
    migrate_to(AFTER)
    rows = {name: Response.objects.get(pk=row.pk) for name, row in history["rows"].items()}

    episode = EpisodeOfCare.objects.get(client=history["numbered"])
    assert episode.status == "active" and episode.primary_clinician == history["alice"]  # the one on the caseload
    sessions = list(CareSession.objects.filter(episode=episode).order_by("number"))
    assert [session.number for session in sessions] == [1, 2, 3]
    assert all(session.attendance == "attended" for session in sessions)
    assert rows["s1a"].session == rows["s1b"].session == sessions[0]
    assert rows["s2"].session == rows["s2_loose"].session == sessions[1]  # the loose ORS joins session 2's day
    assert rows["loose"].session == sessions[2] and rows["loose"].session_number == 3
    assert sessions[0].scheduled_start == rows["s1a"].authored_at  # the earliest response of the session
    # Session 1's clinician in the room is the one its responses credit; the client's own SRS is now theirs.
    assert list(sessions[0].clinicians.all()) == [history["alice"]]
    assert rows["s1a"].clinician == history["alice"] and rows["loose"].clinician == history["alice"]

    episode = EpisodeOfCare.objects.get(client=history["daily"])
    # Two on the caseload: the most credited clinician (bob, 2 responses, over carol's 1) is primary.
    assert episode.primary_clinician == history["bob"]
    assert episode.start_date == date(2026, 3, 1)  # the first response's day in Auckland
    assert episode.status == "finished" and episode.end_reason == "other" and episode.end_date == date(2026, 3, 9)
    sessions = list(CareSession.objects.filter(episode=episode).order_by("number"))
    assert len(sessions) == 3
    assert rows["d1"].session == rows["d1b"].session == sessions[0]
    assert rows["d2"].session == sessions[1] and rows["d3"].session == sessions[2]
    assert rows["d1b"].clinician == history["bob"]
    assert list(sessions[2].clinicians.all()) == [history["carol"]] and rows["d3"].clinician == history["carol"]

    assert rows["already"].session is None  # a client with an episode is left alone
    assert EpisodeOfCare.objects.filter(client=history["already"]).count() == 1

    after = _rollups()
    assert after != before_rollups  # alice's and bob's figures now count the clients' own ratings
    alice_srs = MetricRollup.objects.filter(
        clinician_key=history["alice"].pk, questionnaire_id="srs", rater="client", period="month"
    )
    assert sum(cell.n for cell in alice_srs) == 2
    metrics_recompute()
    assert _rollups() == after  # what the migration left equals a recompute


@pytest.mark.django_db(transaction=True)
def test_running_it_again_changes_nothing(history):
    first = care_backfill()
    assert (first.clients, first.sessions, first.responses, first.credited) == (2, 6, 9, 5)
    linked = set(Response.objects.values_list("pk", "session_id", "session_number", "clinician_id"))
    second = care_backfill()
    assert (second.clients, second.sessions, second.rollup_cells) == (0, 0, None)
    assert set(Response.objects.values_list("pk", "session_id", "session_number", "clinician_id")) == linked


@pytest.mark.django_db(transaction=True)
def test_the_command_runs_in_small_batches_with_the_same_result(history):
    out = StringIO()
    call_command("backfill_course_of_care", "--batch-clients", "1", stdout=out)
    assert "2 episodes (1 finished), 6 sessions, 9 responses linked, 5 newly credited" in out.getvalue()
    assert CareSession.objects.count() == 6
    assert not Response.objects.filter(session__isnull=True).exclude(client=history["already"]).exists()
