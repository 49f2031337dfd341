"""Alerts raised when scores land, on hand-computed cases from the instrument notes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from questionnaires.models import Alert, ClinicAlertSettings, Response
from questionnaires.registry import get_registry
from questionnaires.scoring import score_answers
from questionnaires.services.alert_rules import alerts_raise
from questionnaires.services.scoring import ScoredResponse, responses_score
from tests.workers.helpers import kinds_of, ors_total, phq9, srs, srs_total

pytestmark = pytest.mark.django_db


def test_srs_below_36_and_a_mark_below_9_raise_low_alliance_and_low_item(north, scored):
    body = scored(north, "srs", srs(8.0, 9.0, 9.0, 9.0))
    assert kinds_of(body["id"]) == ["low_alliance", "low_item"]
    low_item = Alert.objects.get(response_id=body["id"], kind="low_item")
    assert low_item.details["items"] == {"1": 8.0}
    assert low_item.priority == "normal"


def test_srs_exactly_36_with_every_mark_at_9_raises_nothing(north, scored):
    assert kinds_of(scored(north, "srs", srs(9.0, 9.0, 9.0, 9.0))["id"]) == []


def test_phq9_item_9_raises_a_high_priority_risk_alert_whatever_the_total(north, scored):
    body = scored(north, "phq-9", phq9(0, 0, 0, 0, 0, 0, 0, 0, 1))
    assert kinds_of(body["id"]) == ["risk"]
    assert Alert.objects.get(response_id=body["id"]).priority == "high"
    severe_without_item_9 = scored(north, "phq-9", phq9(3, 3, 3, 3, 3, 3, 3, 3, 0))  # 24, item 9 at 0
    assert "risk" not in kinds_of(severe_without_item_9["id"])


def test_core10_item_6_raises_a_high_priority_risk_alert(north, scored):
    answers = {str(item): 0 for item in range(1, 11)}
    answers["2"] = answers["3"] = 4  # reverse-keyed items at their healthy end
    answers["6"] = 1
    body = scored(north, "core-10", answers)
    assert kinds_of(body["id"]) == ["risk"]
    assert Alert.objects.get(response_id=body["id"]).priority == "high"


def test_ors_reliable_change_is_against_the_first_ors_and_crossings_against_the_session_before(north, scored):
    intake = scored(north, "ors", ors_total(20.0), days=0)
    assert kinds_of(intake["id"]) == []
    assert kinds_of(scored(north, "ors", ors_total(24.0), days=7)["id"]) == []
    # 20 -> 25: +5 is reliable and 25 is out of the clinical range (< 25): recovered; 24 -> 25 crosses out
    assert kinds_of(scored(north, "ors", ors_total(25.0), days=14)["id"]) == [
        "clinical_range_exit", "recovered", "reliable_improvement",
    ]
    # 20 -> 19: no reliable change; 25 -> 19 crosses back in
    assert kinds_of(scored(north, "ors", ors_total(19.0), days=21)["id"]) == ["clinical_range_entry"]
    # 20 -> 14.6: -5.4 is a reliable deterioration
    assert kinds_of(scored(north, "ors", ors_total(14.6), days=28)["id"]) == ["reliable_deterioration"]


def score_flags(persona, response_id) -> list[str]:
    return persona.api().get(f"/api/v1/responses/{response_id}/").json()["score"]["flags"]


def test_reliable_change_is_a_flag_on_every_session_showing_it_but_an_alert_only_where_it_begins(north, scored):
    scored(north, "ors", ors_total(20.0), days=0)
    # 20 -> 26: +6 >= 5 and out of the clinical range (< 25): improved and recovered
    first = scored(north, "ors", ors_total(26.0), days=7)
    # 20 -> 27: still both, but nothing new for the clinician
    second = scored(north, "ors", ors_total(27.0), days=14)
    # 20 -> 22: +2, no longer reliable; 27 -> 22 crosses back into the clinical range
    third = scored(north, "ors", ors_total(22.0), days=21)
    assert score_flags(north, first["id"]) == ["reliable_improvement", "recovered"]
    assert score_flags(north, second["id"]) == ["reliable_improvement", "recovered"]
    assert score_flags(north, third["id"]) == []
    assert kinds_of(first["id"]) == ["clinical_range_exit", "recovered", "reliable_improvement"]
    assert kinds_of(second["id"]) == []
    assert kinds_of(third["id"]) == ["clinical_range_entry"]


def test_a_rupture_and_its_repair_are_flags_on_those_scores(north, scored):
    ClinicAlertSettings.objects.create(clinic=north.clinic, population_sd={"srs": 2.0})
    for session, total in enumerate([36, 38, 37, 39], start=1):
        scored(north, "srs", srs_total(total), session=session, days=7 * session)
    rupture = scored(north, "srs", srs_total(33), session=5, days=35)  # 39 - 33 = 6 >= 2 * 2
    repair = scored(north, "srs", srs_total(38.5), session=6, days=42)  # >= 39 - 0.5 * 2 = 38
    assert score_flags(north, rupture["id"]) == ["low_alliance", "low_item", "rupture"]
    assert score_flags(north, repair["id"]) == ["repair"]


def _with_settings(persona, **values) -> ClinicAlertSettings:
    return ClinicAlertSettings.objects.create(clinic=persona.clinic, **values)


def rupture_kinds(body) -> list[str]:
    return [kind for kind in kinds_of(body["id"]) if kind in ("rupture", "repair")]


def test_srs_rupture_then_repair_within_three_sessions(north, scored):
    _with_settings(north, population_sd={"srs": 2.0})
    totals = [36, 38, 37, 39]
    for session, total in enumerate(totals, start=1):
        scored(north, "srs", srs_total(total), session=session, days=7 * session)
    # sigma = max(1.2910, 2.0) = 2; 39 - 33 = 6 >= 4
    rupture = scored(north, "srs", srs_total(33), session=5, days=35)
    assert rupture_kinds(rupture) == ["rupture"]
    assert rupture_kinds(scored(north, "srs", srs_total(34), session=6, days=42)) == []
    # repair level 39 - 0.5 * 2 = 38, reached two sessions after the rupture
    repair = scored(north, "srs", srs_total(38), session=7, days=49)
    assert rupture_kinds(repair) == ["repair"]
    alert = Alert.objects.get(response_id=rupture["id"], kind="rupture")
    assert alert.details["state"] == "repaired"
    assert Alert.objects.get(response_id=repair["id"], kind="repair").details["sessions_after"] == 2


def test_a_rupture_not_repaired_within_three_sessions_is_marked_unrepaired(north, scored):
    _with_settings(north, population_sd={"srs": 2.0})
    for session, total in enumerate([36, 38, 37, 39, 33, 34, 35, 37.9, 39], start=1):
        body = scored(north, "srs", srs_total(total), session=session, days=7 * session)
        if session == 5:
            rupture = body
    assert Alert.objects.get(response_id=rupture["id"], kind="rupture").details["state"] == "unrepaired"
    assert not Alert.objects.filter(client=north.client, kind="repair").exists()


def test_with_fewer_than_four_earlier_sessions_the_clinic_sd_alone_decides(north, scored):
    _with_settings(north, population_sd={"srs": 3.0})
    scored(north, "srs", srs_total(30), session=1, days=1)
    scored(north, "srs", srs_total(36), session=2, days=2)
    assert rupture_kinds(scored(north, "srs", srs_total(31), session=3, days=3)) == []  # drop 5 < 6
    assert rupture_kinds(scored(north, "srs", srs_total(24.5), session=4, days=4)) == ["rupture"]  # 6.5


def test_a_clinic_may_make_the_rupture_rule_more_sensitive(north, scored):
    _with_settings(north, population_sd={"srs": 3.0}, rupture_k=Decimal(1))
    scored(north, "srs", srs_total(36), session=1, days=1)
    assert rupture_kinds(scored(north, "srs", srs_total(32.5), session=2, days=2)) == ["rupture"]  # 3.5 >= 3


def test_jacobson_truax_change_where_the_clinic_configured_norms(north, scored):
    _with_settings(north, jacobson_truax_norms={"phq-9": {"s1": 6, "r": 0.84, "M0": 4, "s0": 4, "M1": 18}})
    scored(north, "phq-9", phq9(3, 3, 3, 3, 2, 2, 2, 2, 0), days=0)  # 20
    later = scored(north, "phq-9", phq9(1, 1, 1, 1, 1, 1, 1, 2, 0), days=28)  # 9: RC -3.24, below c = 9.6
    assert kinds_of(later["id"]) == ["clinical_range_exit", "recovered", "reliable_improvement"]
    details = Alert.objects.get(response_id=later["id"], kind="reliable_improvement").details
    assert details["method"] == "jacobson-truax"
    assert Decimal(details["cutoff"]) == Decimal("9.6")


def test_phq9_uses_the_nhs_talking_therapies_reliable_change_and_still_crosses_its_cutoff(north, scored):
    # PHQ-9 1.1.0: reliable change 6, caseness >= 10 (NHS Talking Therapies manual, v7).
    scored(north, "phq-9", phq9(3, 3, 3, 3, 2, 2, 2, 2, 0), days=0)  # 20
    later = scored(north, "phq-9", phq9(1, 1, 1, 1, 1, 1, 1, 2, 0), days=28)  # 9 < 10, 11 points better
    assert sorted(kinds_of(later["id"])) == ["clinical_range_exit", "recovered", "reliable_improvement"]


def test_a_phq9_change_below_its_reliable_change_only_crosses_the_cutoff(north, scored):
    scored(north, "phq-9", phq9(2, 2, 2, 2, 2, 1, 1, 0, 0), days=0)  # 12
    later = scored(north, "phq-9", phq9(1, 1, 1, 1, 1, 1, 1, 2, 0), days=28)  # 9: 3 points, below 6
    assert kinds_of(later["id"]) == ["clinical_range_exit"]


def test_a_large_gap_between_client_and_clinician_srs_in_one_session_raises_rater_gap(north, scored):
    scored(north, "srs", srs(9.5, 9.5, 9.5, 9.5), session=3, days=3)
    clinician = scored(north, "srs", srs(6.5, 6.5, 6.5, 6.5), session=3, days=3, rater="clinician")
    # 38 - 26 = 12 >= a quarter of the 0-40 range
    assert "rater_gap" in kinds_of(clinician["id"])
    alert = Alert.objects.get(response_id=clinician["id"], kind="rater_gap")
    assert Decimal(alert.details["gap"]) == Decimal(12)
    close = scored(north, "srs", srs(8.0, 8.0, 8.0, 8.0), session=4, days=4, rater="clinician")
    scored(north, "srs", srs(10.0, 10.0, 10.0, 10.0), session=4, days=4)  # 40 - 32 = 8 < 10
    assert not Alert.objects.filter(kind="rater_gap").exclude(response_id=clinician["id"]).exists()
    assert "rater_gap" not in kinds_of(close["id"])


def test_the_rater_gap_threshold_is_a_clinic_setting(north, scored):
    _with_settings(north, rater_gap_threshold={"srs": 5})
    scored(north, "srs", srs(8.0, 8.0, 8.0, 8.0), session=1, days=1, rater="clinician")
    client_side = scored(north, "srs", srs(10.0, 10.0, 10.0, 10.0), session=1, days=1)
    assert "rater_gap" in kinds_of(client_side["id"])


def test_each_alert_is_stored_once_when_scoring_or_raising_runs_again(north, scored):
    body = scored(north, "phq-9", phq9(0, 0, 0, 0, 0, 0, 0, 0, 2))
    responses_score(response_ids=[body["id"]])
    responses_score(response_ids=[body["id"]], include_failed=True)
    response = Response.objects.select_related("questionnaire_version", "client").get(id=body["id"])
    definition = get_registry().get("phq-9", response.questionnaire_version.version)
    item = ScoredResponse(response=response, definition=definition, score=score_answers(definition, response.answers))
    alerts_raise(scored=[item])
    alerts_raise(scored=[item])
    assert Alert.objects.filter(response_id=body["id"]).count() == 1
    assert Response.objects.get(id=body["id"]).scores.count() == 1


def test_the_trajectory_shows_client_and_clinician_ratings_of_a_session_and_their_gap(north, scored):
    client_side = scored(north, "srs", srs(9.5, 9.5, 9.5, 9.5), session=2, days=2)
    clinician_side = scored(north, "srs", srs(7.0, 7.0, 7.0, 7.0), session=2, days=2, rater="clinician")
    scored(north, "srs", srs(9.0, 9.0, 9.0, 9.0), session=3, days=3)  # only the client rated session 3
    scored(north, "ors", ors_total(20), session=2, days=2, rater="clinician")  # not an alliance instrument
    body = north.api().get(f"/api/v1/clients/{north.client.external_id}/scores/").json()
    assert body["discrepancies"] == [
        {
            "questionnaire": "srs",
            "clinician_questionnaire": "srs",
            "session": 2,
            "client_total": 38,
            "clinician_total": 28,
            "gap": 10,
            "client_response": client_side["id"],
            "clinician_response": clinician_side["id"],
        }
    ]


# --- issue 17: alerts a clinician acts on ------------------------------------------------------


def test_the_clinicians_own_low_srs_raises_no_talk_about_the_alliance_alert(north, scored):
    body = scored(north, "srs", srs(5.0, 5.0, 5.0, 5.0), session=1, days=1, rater="clinician")
    assert kinds_of(body["id"]) == []
    assert score_flags(north, body["id"]) == ["low_alliance", "low_item"]  # the score still says so


def test_the_clinicians_low_srs_still_feeds_the_rater_gap(north, scored):
    scored(north, "srs", srs(10.0, 10.0, 10.0, 10.0), session=1, days=1)
    clinician = scored(north, "srs", srs(5.0, 5.0, 5.0, 5.0), session=1, days=1, rater="clinician")
    assert kinds_of(clinician["id"]) == ["rater_gap"]
    assert Alert.objects.get(response_id=clinician["id"]).message == (
        "Session Rating Scale (SRS v3): client rated 40, clinician 20 (gap 20, threshold 10)."
    )


def test_a_drop_in_the_clinicians_own_ratings_is_no_rupture(north, scored):
    _with_settings(north, population_sd={"srs": 2.0})
    for session, total in enumerate([36, 38, 37, 39, 33], start=1):
        body = scored(north, "srs", srs_total(total), session=session, days=7 * session, rater="clinician")
    assert kinds_of(body["id"]) == []


def test_recovery_leaving_the_clinical_range_and_reliable_improvement_are_low_priority_notes(north, scored):
    scored(north, "ors", ors_total(20.0), days=0)
    body = scored(north, "ors", ors_total(26.0), days=7)
    notes = Alert.objects.filter(response_id=body["id"])
    assert sorted(notes.values_list("kind", flat=True)) == ["clinical_range_exit", "recovered", "reliable_improvement"]
    assert set(notes.values_list("category", "priority")) == {("note", "low")}
    entry = scored(north, "ors", ors_total(19.0), days=14)
    assert Alert.objects.get(response_id=entry["id"]).category == "alert"


def test_alert_messages_show_numbers_at_the_instruments_precision(north, scored):
    scored(north, "phq-9", phq9(2, 2, 2, 2, 2, 2, 0, 0, 0), days=0)  # 12
    body = scored(north, "phq-9", phq9(1, 1, 1, 1, 1, 1, 0, 0, 0), days=14)  # 6
    messages = " ".join(Alert.objects.filter(response_id=body["id"]).values_list("message", flat=True))
    assert "12 → 6" in messages
    assert ".0000" not in messages


def test_derived_levels_are_shown_at_the_precision_of_the_instruments_answers():
    from questionnaires.services.alert_rules import shown

    registry = get_registry()
    assert shown("37.5316", registry.get("srs")) == "37.5"  # SRS marks go to 0.1
    assert shown("12.0000", registry.get("phq-9")) == "12"
    assert shown("0.0000", registry.get("srs")) == "0"
