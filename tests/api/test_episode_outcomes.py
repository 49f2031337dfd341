"""Episode outcomes, hand-computed per instrument from the published conventions each plugin cites.

PHQ-9: caseness >= 10, reliable change 6; GAD-7: >= 8, 4 (NHS Talking Therapies manual, v7).
CORE-10: >= 11, 6 (Barkham et al. 2013). ORS: case below 25 (adults), 5 (Miller et al. 2003;
Miller & Duncan 2004). Recovery: case at first, not at last; reliable recovery: recovery and
reliable improvement. A course counts with scores from two or more sessions.
"""

from __future__ import annotations

import pytest

from tests.api.outcome_helpers import episode_with_scores

pytestmark = pytest.mark.django_db(transaction=True)

CASES = [
    # (instrument, totals by session, expected)
    # PHQ-9 16 -> 8: improvement 8 >= 6; 16 >= 10 a case, 8 not: recovered, reliably.
    ("phq-9", [16, 12, 8], dict(change=-8, reliable_improvement=True, reliable_deterioration=False,
                               case_at_first=True, recovered=True, reliably_recovered=True)),
    # PHQ-9 22 -> 14: improvement 8 >= 6 but 14 >= 10 still a case: reliably improved, not recovered.
    ("phq-9", [22, 14], dict(change=-8, reliable_improvement=True, reliable_deterioration=False,
                            case_at_first=True, recovered=False, reliably_recovered=False)),
    # PHQ-9 8 -> 15: worse by 7 >= 6: reliable deterioration; not a case at first.
    ("phq-9", [8, 15], dict(change=7, reliable_improvement=False, reliable_deterioration=True,
                           case_at_first=False, recovered=False, reliably_recovered=False)),
    # GAD-7 12 -> 5: improvement 7 >= 4; 12 >= 8 a case, 5 not.
    ("gad-7", [12, 9, 5], dict(change=-7, reliable_improvement=True, reliable_deterioration=False,
                              case_at_first=True, recovered=True, reliably_recovered=True)),
    # GAD-7 20 -> 15: improvement 5 >= 4, 15 still >= 8.
    ("gad-7", [20, 15], dict(change=-5, reliable_improvement=True, reliable_deterioration=False,
                            case_at_first=True, recovered=False, reliably_recovered=False)),
    # GAD-7 5 -> 10: worse by 5 >= 4.
    ("gad-7", [5, 10], dict(change=5, reliable_improvement=False, reliable_deterioration=True,
                           case_at_first=False, recovered=False, reliably_recovered=False)),
    # GAD-7 boundaries: 8 is a case (>= 8), 4 is not; a change of exactly 4 is reliable.
    ("gad-7", [8, 4], dict(change=-4, reliable_improvement=True, reliable_deterioration=False,
                          case_at_first=True, recovered=True, reliably_recovered=True)),
    # CORE-10 20 -> 10: improvement 10 >= 6; 20 >= 11 a case, 10 not.
    ("core-10", [20, 10], dict(change=-10, reliable_improvement=True, reliable_deterioration=False,
                              case_at_first=True, recovered=True, reliably_recovered=True)),
    # CORE-10 30 -> 22: improvement 8 >= 6, 22 still >= 11.
    ("core-10", [30, 22], dict(change=-8, reliable_improvement=True, reliable_deterioration=False,
                              case_at_first=True, recovered=False, reliably_recovered=False)),
    # CORE-10 10 -> 16: worse by 6 >= 6.
    ("core-10", [10, 16], dict(change=6, reliable_improvement=False, reliable_deterioration=True,
                              case_at_first=False, recovered=False, reliably_recovered=False)),
    # ORS (higher is better) 18.5 -> 26.0: improvement 7.5 >= 5; below 25 a case, 26 not.
    ("ors", ["18.5", "26.0"], dict(change=7.5, reliable_improvement=True, reliable_deterioration=False,
                                   case_at_first=True, recovered=True, reliably_recovered=True)),
    # ORS 10.0 -> 20.0: improvement 10 >= 5, 20 still below 25.
    ("ors", ["10.0", "20.0"], dict(change=10, reliable_improvement=True, reliable_deterioration=False,
                                   case_at_first=True, recovered=False, reliably_recovered=False)),
    # ORS 30.0 -> 24.5: worse by 5.5 >= 5; 30 not a case at first (25 itself is not below 25).
    ("ors", ["30.0", "24.5"], dict(change=-5.5, reliable_improvement=False, reliable_deterioration=True,
                                   case_at_first=False, recovered=False, reliably_recovered=False)),
    # ORS 22.0 -> 25.0: recovered (25 is not below 25) but 3 < 5: not reliably.
    ("ors", ["22.0", "25.0"], dict(change=3, reliable_improvement=False, reliable_deterioration=False,
                                   case_at_first=True, recovered=True, reliably_recovered=False)),
]


@pytest.mark.parametrize(("questionnaire", "totals", "expected"), CASES)
def test_an_episode_outcome_follows_the_published_rules(north, questionnaire, totals, expected):
    episode_id = episode_with_scores(north, f"client-{questionnaire}-{totals[0]}-{totals[-1]}", questionnaire, totals)
    body = north.api().get(f"/api/v1/episodes/{episode_id}/outcome/").json()
    (outcome,) = body["outcomes"]
    assert outcome["questionnaire"] == questionnaire
    assert outcome["counted"] is True and outcome["scored_sessions"] == len(totals)
    assert (outcome["first"], outcome["last"]) == (float(totals[0]), float(totals[-1]))
    assert {name: outcome[name] for name in expected} == expected


@pytest.mark.parametrize("questionnaire", ["phq-9", "gad-7", "core-10", "ors"])
def test_one_scored_session_is_too_few_to_count(north, questionnaire):
    episode_id = episode_with_scores(north, f"one-{questionnaire}", questionnaire, [15, None, None])
    (outcome,) = north.api().get(f"/api/v1/episodes/{episode_id}/outcome/").json()["outcomes"]
    assert (outcome["counted"], outcome["scored_sessions"], outcome["first"]) == (False, 1, 15.0)
    assert outcome["last"] is None and outcome["change"] is None
    assert outcome["recovered"] is None and outcome["reliable_improvement"] is None


@pytest.mark.parametrize(
    ("questionnaire", "totals", "first_session", "recovered", "reliably_recovered"),
    [
        # No PHQ-9 at session 1: the first score is session 2's 12 (a case); 12 -> 9 is recovery but 3 < 6.
        ("phq-9", [None, 12, 9], 2, True, False),
        # No GAD-7 at session 1: 14 at session 2 -> 6 at session 3, improvement 8 >= 4, 6 < 8: reliably recovered.
        ("gad-7", [None, 14, 6], 2, True, True),
        ("core-10", [None, 25, 9], 2, True, True),
        ("ors", [None, "20.0", "23.0"], 2, False, False),
    ],
)
def test_a_missing_first_score_takes_the_first_scored_session_as_baseline(
    north, questionnaire, totals, first_session, recovered, reliably_recovered
):
    episode_id = episode_with_scores(north, f"late-{questionnaire}", questionnaire, totals)
    (outcome,) = north.api().get(f"/api/v1/episodes/{episode_id}/outcome/").json()["outcomes"]
    assert (outcome["first_session"], outcome["last_session"]) == (first_session, 3)
    assert (outcome["recovered"], outcome["reliably_recovered"]) == (recovered, reliably_recovered)


def test_a_retracted_response_leaves_the_outcome_and_an_amended_one_counts_as_amended(north):
    from tests.api.outcome_helpers import answers_for

    api = north.api()
    episode_id = episode_with_scores(north, "corrected", "phq-9", [16, 12, 8], end_reason=None)
    responses = api.get("/api/v1/responses/", {"client": "corrected"}).json()["results"]
    by_total = {row["score"]["total"]: row["id"] for row in responses}
    retracted = api.post(f"/api/v1/responses/{by_total[8]}/retract/", {"reason": "wrong client"}, format="json")
    assert retracted.status_code == 200, retracted.content
    (outcome,) = api.get(f"/api/v1/episodes/{episode_id}/outcome/").json()["outcomes"]
    assert (outcome["last"], outcome["recovered"]) == (12.0, False)  # 16 -> 12: still a case, 4 < 6
    amended = api.patch(
        f"/api/v1/responses/{by_total[12]}/",
        {"answers": answers_for("phq-9", 4), "reason": "typed in wrong"}, format="json",
    )
    assert amended.status_code == 200, amended.content
    (outcome,) = api.get(f"/api/v1/episodes/{episode_id}/outcome/").json()["outcomes"]
    assert (outcome["last"], outcome["change"], outcome["reliably_recovered"]) == (4.0, -12.0, True)


def test_adherence_counts_attendance_over_kept_and_missed_sessions_and_names_the_ending(north):
    episode_id = episode_with_scores(
        north, "adherent", "phq-9", [12, None, None], end_reason="dropped_out",
        extra_sessions=("did_not_attend", "cancelled_by_client", "cancelled_by_service", "booked"),
    )
    adherence = north.api().get(f"/api/v1/episodes/{episode_id}/outcome/").json()["adherence"]
    # 3 attended / (3 attended + 1 did not attend + 1 cancelled by the client) = 0.6.
    assert adherence == {
        "sessions_attended": 3, "sessions_did_not_attend": 1, "sessions_cancelled_by_client": 1,
        "sessions_cancelled_by_service": 1, "attendance_rate": 0.6, "ending": "unplanned",
        "end_reason": "dropped_out", "dropped_out": True,
    }


def test_an_active_episode_has_no_ending_and_clinician_ratings_do_not_count(north):
    api = north.api()
    episode_id = episode_with_scores(north, "active-one", "phq-9", [14, 13], end_reason=None)
    body = api.get(f"/api/v1/episodes/{episode_id}/outcome/").json()
    assert body["adherence"]["ending"] is None and body["adherence"]["dropped_out"] is False
    assert [outcome["questionnaire"] for outcome in body["outcomes"]] == ["phq-9"]


def test_another_clinics_episode_outcome_is_a_404_and_a_client_token_is_refused(north, south):
    from tests.api.conftest import client_token_api

    episode_id = episode_with_scores(north, "private", "phq-9", [14, 6])
    assert south.api().get(f"/api/v1/episodes/{episode_id}/outcome/").status_code == 404
    assert north.api().get("/api/v1/episodes/99999999/outcome/").status_code == 404
    from questionnaires.models import TherapyClient

    own = client_token_api(TherapyClient.objects.get(external_id="private"))
    assert own.get(f"/api/v1/episodes/{episode_id}/outcome/").status_code in (403, 404)


def test_fhir_serves_the_episode_outcome_as_observations_that_validate(north, south):
    from fhir.resources.R4B.bundle import Bundle

    episode_id = episode_with_scores(north, "fhir-one", "phq-9", [16, 12, 8],
                                     extra_sessions=("did_not_attend",))
    answer = north.api().get(f"/fhir/EpisodeOfCare/{episode_id}/$outcome")
    assert answer.status_code == 200, answer.content
    bundle = Bundle.model_validate(answer.json())  # fhir.resources R4B: valid FHIR
    assert bundle.type == "collection"
    resources = {entry.resource.id: entry.resource for entry in bundle.entry}
    phq = resources[f"episode-{episode_id}-phq-9"]
    assert phq.focus[0].reference == f"EpisodeOfCare/{episode_id}" and float(phq.valueQuantity.value) == -8
    flags = {component.code.coding[0].code: component.valueBoolean for component in phq.component
             if component.valueBoolean is not None}
    assert flags["episode-reliably-recovered"] is True and flags["episode-reliable-deterioration"] is False
    adherence = resources[f"episode-{episode_id}-adherence"]
    assert float(adherence.valueQuantity.value) == 75.0  # 3 attended of 3 + 1 no-show
    assert south.api().get(f"/fhir/EpisodeOfCare/{episode_id}/$outcome").status_code == 404
