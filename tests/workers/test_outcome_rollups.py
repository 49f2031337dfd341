"""Outcome and adherence rollups: after any stream of sessions, submissions, corrections and endings, the
incrementally kept cells equal a from-scratch recompute; the recompute service writes the same cells."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaires.models import CareSession, EpisodeOfCare, OutcomeRollup, Response
from questionnaires.principals import Principal
from questionnaires.services.care import episode_create, episode_update, session_create, session_update
from questionnaires.services.corrections import response_amend, response_retract
from questionnaires.services.outcome_rollups import FIGURES, outcomes_recompute, outcomes_recomputed
from questionnaires.services.responses import response_submit
from tests.api.outcome_helpers import answers_for
from tests.factories import ClinicFactory, MembershipFactory, TherapyClientFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ATTENDANCE = ["attended", "attended", "attended", "did_not_attend", "cancelled_by_client", "cancelled_by_service"]

step = st.one_of(
    st.tuples(st.just("session"), st.integers(0, 2), st.sampled_from(ATTENDANCE), st.integers(0, 60)),
    st.tuples(st.just("attendance"), st.integers(0, 30), st.sampled_from(ATTENDANCE)),
    st.tuples(st.just("submit"), st.integers(0, 30), st.sampled_from(["phq-9", "gad-7", "ors"]), st.integers(0, 21)),
    st.tuples(st.just("amend"), st.integers(0, 30), st.integers(0, 21)),
    st.tuples(st.just("retract"), st.integers(0, 30)),
    st.tuples(st.just("end"), st.integers(0, 2), st.sampled_from(["completed", "dropped_out", "declined", "other"]),
              st.integers(20, 80)),
    st.tuples(st.just("reopen"), st.integers(0, 2)),
    st.tuples(st.just("clinician"), st.integers(0, 2), st.integers(0, 1)),
)


def stored_cells(clinic_id: int) -> dict:
    cells = {}
    for row in OutcomeRollup.objects.filter(clinic_id=clinic_id):
        figures = Counter({name: getattr(row, name) for name in FIGURES})
        figures = +figures  # zero counts dropped: a cell emptied by a correction equals an absent one
        if figures:
            cells[(row.clinic_id, row.scope, row.clinician_key, row.questionnaire_id, row.period_start)] = figures
    return cells


def recomputed(clinic_id: int) -> dict:
    cells, _ = outcomes_recomputed(clinic_ids=[clinic_id])
    return {key: +counter for key, counter in cells.items() if +counter}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=st.lists(step, min_size=1, max_size=30))
def test_incremental_outcome_rollups_equal_a_from_scratch_recompute(stream, django_capture_on_commit_callbacks):
    clinic = ClinicFactory()
    principal = Principal(kind="api_key", clinic_id=clinic.id, credential=None, credential_prefix="test")
    clinicians = [MembershipFactory(clinic=clinic).user for _ in range(2)]
    episodes = []
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(3):
            client = TherapyClientFactory(clinic=clinic)
            client.clinicians.add(clinicians[number % 2])
            episodes.append(episode_create(
                principal=principal, client=client,
                body={"start_date": "2026-01-01", "primary_clinician": clinicians[number % 2].username},
            ))
    for entry in stream:
        kind = entry[0]
        sessions = list(CareSession.objects.filter(clinic=clinic).order_by("pk"))
        responses = list(Response.objects.filter(clinic=clinic).order_by("received_at", "pk"))
        with django_capture_on_commit_callbacks(execute=True):
            if kind == "session":
                _, index, attendance, days = entry
                session_create(principal=principal, episode=episodes[index], body={
                    "scheduled_start": (START + timedelta(days=days)).isoformat(), "attendance": attendance,
                })
            elif kind == "attendance" and sessions:
                session = sessions[entry[1] % len(sessions)]
                session_update(principal=principal, session=session, body={"attendance": entry[2]})
            elif kind == "submit" and sessions:
                session = sessions[entry[1] % len(sessions)]
                questionnaire, level = entry[2], entry[3]
                total = min(level, 21) if questionnaire != "ors" else level
                response_submit(principal=principal, payload={
                    "questionnaire": questionnaire, "client": session.episode.client.external_id,
                    "session_id": session.pk, "authored": (session.scheduled_start + timedelta(hours=1)).isoformat(),
                    "answers": answers_for(questionnaire, total),
                })
            elif kind == "amend" and responses:
                response = responses[entry[1] % len(responses)]
                if response.status == Response.Status.SCORED:
                    response_amend(principal=principal, response_id=str(response.pk), payload={
                        "answers": answers_for(response.questionnaire_version.questionnaire_id, entry[2]),
                        "reason": "corrected",
                    })
            elif kind == "retract" and responses:
                response = responses[entry[1] % len(responses)]
                response_retract(principal=principal, response_id=str(response.pk), reason="entered in error")
            elif kind == "end":
                _, index, reason, days = entry
                episode_update(principal=principal, episode=EpisodeOfCare.objects.get(pk=episodes[index].pk), body={
                    "status": "finished", "end_reason": reason,
                    "end_date": (START + timedelta(days=days)).date().isoformat(),
                })
            elif kind == "reopen":
                episode_update(principal=principal, episode=EpisodeOfCare.objects.get(pk=episodes[entry[1]].pk),
                               body={"status": "active"})
            elif kind == "clinician":
                episode_update(principal=principal, episode=EpisodeOfCare.objects.get(pk=episodes[entry[1]].pk),
                               body={"primary_clinician": clinicians[entry[2]].username})
    assert stored_cells(clinic.id) == recomputed(clinic.id)


def test_the_recompute_service_writes_what_the_increments_wrote(django_capture_on_commit_callbacks):
    clinic = ClinicFactory()
    principal = Principal(kind="api_key", clinic_id=clinic.id, credential=None, credential_prefix="test")
    clinician = MembershipFactory(clinic=clinic).user
    client = TherapyClientFactory(clinic=clinic)
    client.clinicians.add(clinician)
    with django_capture_on_commit_callbacks(execute=True):
        episode = episode_create(principal=principal, client=client,
                                 body={"start_date": "2026-01-01", "primary_clinician": clinician.username})
        for week, total in enumerate([16, 8]):
            session = session_create(principal=principal, episode=episode, body={
                "scheduled_start": (START + timedelta(days=7 * week)).isoformat(), "attendance": "attended"})
            response_submit(principal=principal, payload={
                "questionnaire": "phq-9", "client": client.external_id, "session_id": session.pk,
                "authored": (session.scheduled_start + timedelta(hours=1)).isoformat(),
                "answers": answers_for("phq-9", total)})
        episode_update(principal=principal, episode=episode,
                       body={"status": "finished", "end_reason": "completed", "end_date": "2026-02-10"})
    incremental = stored_cells(clinic.id)
    phq = incremental[(clinic.id, "clinic", 0, "phq-9", datetime(2026, 2, 1).date())]
    assert phq == Counter(episodes=1, case_at_first=1, recovered=1, reliably_recovered=1, reliable_improvement=1)
    adherence = incremental[(clinic.id, "clinician", clinician.pk, "", datetime(2026, 2, 1).date())]
    assert adherence == Counter(episodes=1, planned_endings=1, sessions_attended=2)
    OutcomeRollup.objects.all().delete()
    outcomes_recompute()
    assert stored_cells(clinic.id) == incremental
