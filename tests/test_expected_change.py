"""Not on track: curves fitted to synthetic finished episodes drawn from a known curve (fixed seeds),
flags exactly where the stored curve puts them, and none without enough episodes (README, "Not on track")."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from alliance_api.celery import app
from questionnaires.change_curves import lower_limit
from questionnaires.contract import NormCurve
from questionnaires.models import (
    Alert,
    CareSession,
    EpisodeOfCare,
    ExpectedChangeCurve,
    Response,
    WebhookDelivery,
    WebhookSubscription,
)
from questionnaires.registry import get_registry
from questionnaires.services.expected_change import expected_change_curves_refresh
from questionnaires.services.scoring import responses_score
from tests.expected_change_data import START, client_course, finished_episodes

pytestmark = pytest.mark.django_db

# PHQ-9 (lower is better): intake 20 ("severe"), improvement 1 + 4 ln(s) + N(0, 1.5^2), sessions 2..8.
PHQ9_TRUTH = {"intercept": 1.0, "slope": 4.0, "noise_sd": 1.5}
# ORS (higher is better): intake 18 ("clinical"), improvement 0.5 + 3 ln(s) + N(0, 1).
ORS_TRUTH = {"intercept": 0.5, "slope": 3.0, "noise_sd": 1.0}
Z_90 = 1.2816
"""The 90th percentile of a standard normal: the tolerance a fit with N(0, sd^2) residuals should find (1.28 sd)."""


def _phq9_episodes(persona, *, count=40, seed=16, prefix="phq", **truth):
    return finished_episodes(
        clinic=persona.clinic, definition=get_registry().get("phq-9"), count=count, intake_total=20,
        intake_band="severe", seed=seed, prefix=f"{persona.clinic.slug}-{prefix}", **(truth or PHQ9_TRUTH),
    )


def _curve(persona, questionnaire_id="phq-9", band="severe") -> ExpectedChangeCurve | None:
    return ExpectedChangeCurve.objects.filter(
        clinic=persona.clinic, questionnaire_id=questionnaire_id, band=band
    ).first()


def test_a_curve_fitted_to_episodes_drawn_from_a_known_curve_recovers_it_lower_is_better(north):
    _phq9_episodes(north)
    outcome = expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    curve = _curve(north)
    assert outcome.curves == 1 and curve is not None
    # 40 episodes x 7 later sessions = 280 points. ln(2..8) has variance ~0.19, so Sxx ~ 280 * 0.19 = 53 and the
    # slope's standard error is 1.5 / sqrt(53) ~ 0.21; the intercept's ~ 0.33. Tolerances: about 2.5 standard errors.
    assert curve.slope == pytest.approx(4.0, abs=0.5)
    assert curve.intercept == pytest.approx(1.0, abs=0.8)
    assert curve.tolerance == pytest.approx(Z_90 * 1.5, abs=0.4)
    assert (curve.n_episodes, curve.n_points, curve.max_session) == (40, 280, 8)
    assert (curve.source, curve.direction) == ("clinic", "lower_is_better")
    assert "Finch, Lambert & Schaalje (2001)" in curve.reference


def test_a_curve_fitted_to_episodes_drawn_from_a_known_curve_recovers_it_higher_is_better(north):
    finished_episodes(
        clinic=north.clinic, definition=get_registry().get("ors"), count=35, intake_total=18, intake_band="clinical",
        seed=7, prefix="ors", **ORS_TRUTH,
    )
    expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    curve = _curve(north, "ors", "clinical")
    assert curve is not None
    # 245 points, sd 1: slope SE ~ 1 / sqrt(245 * 0.19) ~ 0.15.
    assert curve.slope == pytest.approx(3.0, abs=0.4)
    assert curve.intercept == pytest.approx(0.5, abs=0.6)
    assert curve.tolerance == pytest.approx(Z_90 * 1.0, abs=0.3)
    assert (curve.direction, curve.n_episodes) == ("higher_is_better", 35)


def test_below_the_minimum_number_of_episodes_there_is_no_curve_and_no_flag(north, settings):
    _phq9_episodes(north, count=29)
    outcome = expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    assert _curve(north) is None
    assert outcome.too_few == {f"{north.clinic.id}:phq-9:severe": 29}
    # A client who got much worse is still not flagged: there is no norm to be worse than.
    scored = client_course(north, [20, 26, 27])
    assert not Alert.objects.filter(kind="not_on_track").exists()
    assert len(scored) == 3
    # The minimum is a setting.
    settings.EXPECTED_CHANGE_MIN_EPISODES = 29
    expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    assert _curve(north).n_episodes == 29


def test_retracted_responses_and_active_episodes_do_not_feed_the_curve(north):
    episodes = _phq9_episodes(north)
    _phq9_episodes(north, count=10, seed=3, prefix="active", **{**PHQ9_TRUTH, "intercept": -5.0})
    EpisodeOfCare.objects.filter(client__external_id__startswith="north-active").update(
        status=EpisodeOfCare.Status.ACTIVE, end_date=None, end_reason=""
    )
    expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    assert _curve(north).n_episodes == 40
    # Retract every score of 11 episodes: 29 are left, below the minimum, and the stored curve goes.
    Response.objects.filter(session__episode__in=episodes[:11]).update(status=Response.Status.RETRACTED)
    expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    assert _curve(north) is None


def test_flags_exactly_where_the_stored_curve_puts_them_once_per_session_with_provenance(north):
    _phq9_episodes(north)
    expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    curve = _curve(north)
    WebhookSubscription.objects.create(clinic=north.clinic, url="https://hooks.example.org/a", events=["not_on_track"],
                                       secret="s")
    # Improvement 20 - T is off track when below the limit, i.e. T > 20 - limit; pick whole totals either side.
    limits = {session: lower_limit(curve.intercept, curve.slope, curve.tolerance, session) for session in range(2, 7)}
    on = {session: math.floor(20 - limit) - 1 for session, limit in limits.items()}
    off = {session: math.floor(20 - limit) + 1 for session, limit in limits.items()}
    totals = [20, on[2], off[3], off[4], on[5]]
    # Session 4 has a second (also off-track) score: judged once per session, so it raises nothing.
    scored = client_course(north, totals, extra={4: off[4]})

    alerts = list(Alert.objects.filter(kind="not_on_track").order_by("details__session"))
    assert [alert.details["session"] for alert in alerts] == [3, 4]
    assert [alert.response_id for alert in alerts] == [scored[2].id, scored[3].id]
    first = alerts[0]
    assert first.details["limit"] == pytest.approx(limits[3], abs=1e-3)
    assert first.details["improvement"] == pytest.approx(20 - off[3])
    assert first.details["baseline_response"] == str(scored[0].id)
    assert first.details["curve"]["n_episodes"] == 40
    assert first.details["curve"]["fitted_at"] == curve.fitted_at.isoformat()
    assert first.details["curve"]["band"] == "severe"
    assert first.category == Alert.Category.ALERT
    assert "not on track at session 3" in first.message and "40 episodes" in first.message

    deliveries = WebhookDelivery.objects.filter(event="not_on_track").order_by("id")
    assert [d.payload["data"]["details"]["session"] for d in deliveries] == [3, 4]
    assert deliveries[0].payload["data"]["details"]["curve"]["n_episodes"] == 40
    # A redelivered batch adds nothing.
    assert responses_score(response_ids=[scored[2].id]).scored == []
    assert Alert.objects.filter(kind="not_on_track").count() == 2


def test_a_higher_is_better_instrument_flags_a_score_that_fell_not_one_that_rose(north):
    ors = get_registry().get("ors")
    finished_episodes(clinic=north.clinic, definition=ors, count=30, intake_total=18, intake_band="clinical", seed=9,
                      prefix="ors", **ORS_TRUTH)
    expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    curve = _curve(north, "ors", "clinical")
    client = north.client
    episode = EpisodeOfCare.objects.create(clinic=north.clinic, client=client, start_date=START.date())
    version = get_registry().version_row(ors)

    def rate(number: int, mark: str) -> Response:
        session = CareSession.objects.create(clinic=north.clinic, episode=episode, attendance="attended",
                                             number=number, scheduled_start=START + timedelta(weeks=number))
        response = Response.objects.create(
            clinic=north.clinic, client=client, questionnaire_version=version, session=session,
            session_number=number, authored_at=session.scheduled_start, answers={str(i): mark for i in range(1, 5)},
        )
        responses_score(response_ids=[response.id])
        return response

    rate(1, "4.5")  # total 18
    limit = lower_limit(curve.intercept, curve.slope, curve.tolerance, 2)
    assert limit > 0.5  # so a total of 18 + 0 is off track and 18 + 4 * 2.5 = 28 (improvement 10) is not
    rate(2, "7.0")
    assert not Alert.objects.filter(kind="not_on_track").exists()
    fell = rate(3, "4.0")  # total 16: two points worse than intake
    assert list(Alert.objects.filter(kind="not_on_track").values_list("response_id", flat=True)) == [fell.id]


def test_each_clinic_is_judged_only_against_its_own_episodes(north, south):
    _phq9_episodes(north)
    _phq9_episodes(south, seed=17, **{"intercept": 0.0, "slope": 1.0, "noise_sd": 1.0})
    expected_change_curves_refresh()
    north_curve, south_curve = _curve(north), _curve(south)
    assert north_curve.slope == pytest.approx(4.0, abs=0.5)
    assert south_curve.slope == pytest.approx(1.0, abs=0.35)
    assert north_curve.n_episodes == south_curve.n_episodes == 40
    # The same course: off track against north's curve at session 3, on track against south's slow one.
    limit = lower_limit(north_curve.intercept, north_curve.slope, north_curve.tolerance, 3)
    total = math.floor(20 - limit) + 1
    assert 20 - total > lower_limit(south_curve.intercept, south_curve.slope, south_curve.tolerance, 3)
    client_course(north, [20, None, total])
    client_course(south, [20, None, total])
    assert list(Alert.objects.filter(kind="not_on_track").values_list("clinic__slug", flat=True)) == ["north"]
    # Refreshing one clinic leaves the other's curves alone.
    expected_change_curves_refresh(clinic_ids=[south.clinic.id])
    assert _curve(north).fitted_at == north_curve.fitted_at


def test_a_plugins_published_norm_stands_in_where_the_clinic_has_too_few_episodes(north, monkeypatch):
    phq9 = get_registry().get("phq-9")
    norm = NormCurve(band="severe", intercept=Decimal("1.5"), slope=Decimal("3"), tolerance=Decimal("2"),
                     n_episodes=500, reference="Test norm (not a publication)", max_session=12)
    monkeypatch.setattr("questionnaires.services.expected_change.expected_change_instruments",
                        lambda: [replace(phq9, norm_curves=(norm,))])
    expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    curve = _curve(north)
    assert (curve.source, curve.n_episodes, curve.max_session, curve.reference) == (
        "published", 500, 12, "Test norm (not a publication)"
    )
    assert (curve.intercept, curve.slope, curve.tolerance) == (1.5, 3.0, 2.0)
    # With enough episodes of its own the clinic's fit replaces the norm.
    _phq9_episodes(north)
    expected_change_curves_refresh(clinic_ids=[north.clinic.id])
    assert _curve(north).source == "clinic"


def test_the_refresh_is_a_nightly_beat_task_on_the_aggregation_queue():
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    name = "questionnaires.metrics_expected_change_refresh"
    migration = importlib.import_module("questionnaires.migrations.0019_expected_change_curves")
    PeriodicTask.objects.filter(name=name).delete()
    migration.create_refresh_schedule(apps, None)
    task = PeriodicTask.objects.get(name=name)
    assert (task.task, task.crontab.hour, task.crontab.minute, task.enabled) == (name, "3", "40", True)
    assert name in app.tasks
    assert app.amqp.router.route({}, name)["queue"].name == "aggregation"


def test_the_refresh_task_refits_through_the_service(north):
    _phq9_episodes(north, count=30)
    assert app.tasks["questionnaires.metrics_expected_change_refresh"].delay([north.clinic.id]).get() == 1
    assert _curve(north).n_episodes == 30
