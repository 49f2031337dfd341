"""Supervision report: figures equal a hand computation on seeded data, and who may read whose report."""

from __future__ import annotations

import pytest

from questionnaires.models import Alert, Response
from tests.api.conftest import client_token_api, staff_api
from tests.factories import MembershipFactory, TherapyClientFactory
from tests.practice.helpers import body, marks

pytestmark = pytest.mark.django_db

APPROX = {"abs": 1e-3}


@pytest.fixture
def seeded(north, scored, settings):
    """Clinician A (north-clinician): SRS 38, 34, 30, 36; clinician B: 40, 39, 37 (all March 2026).

    A also rates three sessions (32, 30, 33 against the client's 38, 34, 30); ORS pairs per client:
    A's clients 20→27, 25→22, 30→24; B's client 20→21.
    """
    settings.METRICS_MIN_CELL = 3
    other = MembershipFactory(clinic=north.clinic, user__username="north-b").user
    c2, c3 = (TherapyClientFactory(clinic=north.clinic, external_id=name) for name in ("north-c2", "north-c3"))
    c4, c5 = (TherapyClientFactory(clinic=north.clinic, external_id=name) for name in ("north-c4", "north-c5"))
    for client in (c2, c3):
        client.clinicians.add(north.clinician)
    for client in (c4, c5):
        client.clinicians.add(other)
    api = north.api()
    day = iter(range(0, 28))
    ids = {}

    def srs(client, session, total, clinician, rater="client"):
        answer = scored(api, body("srs", client, marks(total), days=next(day), session=session, clinician=clinician,
                                  rater=rater))
        ids[(client, session, rater)] = answer["id"]

    srs("north-client-1", 1, 38, "north-clinician")
    srs("north-client-1", 1, 32, "north-clinician", rater="clinician")
    srs("north-client-1", 2, 34, "north-clinician")
    srs("north-client-1", 2, 30, "north-clinician", rater="clinician")
    srs("north-c2", 1, 30, "north-clinician")
    srs("north-c2", 1, 33, "north-clinician", rater="clinician")
    srs("north-c2", 2, 36, "north-clinician")
    srs("north-c4", 1, 40, "north-b")
    srs("north-c4", 2, 39, "north-b")
    srs("north-c5", 1, 37, "north-b")
    for client, first, last, clinician in (
        ("north-client-1", 20, 27, "north-clinician"), ("north-c2", 25, 22, "north-clinician"),
        ("north-c3", 30, 24, "north-clinician"), ("north-c4", 20, 21, "north-b"),
    ):
        scored(api, body("ors", client, marks(first), days=next(day), clinician=clinician))
        scored(api, body("ors", client, marks(last), days=next(day), clinician=clinician))
    # Two ruptures on A's sessions (the seeded totals are too few for the automatic rule): one repaired.
    for key, state in ((("north-client-1", 2, "client"), "repaired"), (("north-c2", 1, "client"), "unrepaired")):
        response = Response.objects.get(pk=ids[key])
        Alert.objects.create(clinic=north.clinic, client=response.client, response=response, questionnaire_id="srs",
                             kind="rupture", message="m", details={"state": state})
    return other


def test_the_clinicians_figures_equal_a_hand_computation(north, seeded):
    report = staff_api(north.clinician).get("/api/v1/clinicians/north-clinician/report/").json()
    mine = report["clinician_figures"]

    # mean of 38, 34, 30, 36 = 34.5; SD = sqrt(35/3) = 3.4157; t(0.975, 3) = 3.182 -> 34.5 ± 5.4343
    assert mine["mean"]["n"] == 4
    assert mine["mean"]["mean"] == pytest.approx(34.5, **APPROX)
    assert mine["mean"]["sd"] == pytest.approx(3.4157, **APPROX)
    assert mine["mean"]["ci95"] == pytest.approx([29.0657, 39.9343], **APPROX)
    # below 36: 34 and 30 -> 2/4; Wilson with z = 1.96: centre 0.5, half-width 0.35
    assert (mine["below_cutoff"]["count"], mine["below_cutoff"]["n"]) == (2, 4)
    assert mine["below_cutoff"]["ci95"] == pytest.approx([0.15, 0.85], **APPROX)
    assert (mine["ruptures"]["count"], mine["ruptures"]["n"], mine["ruptures"]["share"]) == (2, 4, 0.5)
    # repaired 1 of 2 ruptures: n = 2 is below the minimum cell of 3
    assert mine["repairs"]["suppressed"] is True and mine["repairs"]["share"] is None
    # gaps 38-32 = 6, 34-30 = 4, 30-33 = -3: mean 2.3333, SD 4.7258, t(0.975, 2) = 4.303
    assert mine["rater_gap"]["n"] == 3
    assert mine["rater_gap"]["mean"] == pytest.approx(2.3333, **APPROX)
    assert mine["rater_gap"]["ci95"] == pytest.approx([-9.4072, 14.0739], **APPROX)
    # ORS against the fixed reliable change of 5: +7 improved, -3 no change, -6 deteriorated
    outcomes = mine["outcomes"]
    assert (outcomes["reliable_improvement"]["count"], outcomes["reliable_improvement"]["n"]) == (1, 3)
    assert (outcomes["reliable_deterioration"]["count"], outcomes["reliable_deterioration"]["n"]) == (1, 3)
    assert outcomes["reliable_improvement"]["ci95"] == pytest.approx([0.0615, 0.7923], **APPROX)


def test_the_clinic_figures_and_the_trend_sit_beside_the_clinicians(north, seeded):
    report = staff_api(north.supervisor).get("/api/v1/clinicians/north-clinician/report/").json()
    clinic = report["clinic_figures"]

    # all seven client ratings: 254 / 7 = 36.2857, SD 3.4017, t(0.975, 6) = 2.447
    assert clinic["mean"]["n"] == 7
    assert clinic["mean"]["mean"] == pytest.approx(36.2857, **APPROX)
    assert clinic["mean"]["ci95"] == pytest.approx([33.1396, 39.4319], **APPROX)
    assert (clinic["below_cutoff"]["count"], clinic["below_cutoff"]["n"]) == (2, 7)
    assert clinic["below_cutoff"]["ci95"] == pytest.approx([0.0822, 0.6411], **APPROX)
    assert (clinic["outcomes"]["reliable_improvement"]["count"], clinic["outcomes"]["reliable_improvement"]["n"]) == (
        1, 4)
    assert [(month["month"], month["clinician"]["n"], month["clinic"]["n"]) for month in report["trend"]] == [
        ("2026-03-01", 4, 7)
    ]
    assert report["trend"][0]["clinician"]["mean"] == pytest.approx(34.5, **APPROX)


def test_small_figures_are_suppressed(north, seeded):
    report = north.api().get("/api/v1/clinicians/north-b/report/").json()
    figures = report["clinician_figures"]

    assert figures["mean"]["n"] == 3 and figures["mean"]["mean"] == pytest.approx(38.6667, **APPROX)
    assert figures["rater_gap"] == {"n": None, "mean": None, "sd": None, "ci95": None, "suppressed": True}
    assert figures["outcomes"]["reliable_improvement"]["suppressed"] is True


@pytest.mark.parametrize(
    "who, username, expected",
    [
        ("clinician", "north-clinician", 200),
        ("clinician", "north-b", 404),
        ("clinician", "north-supervisor", 404),
        ("supervisor", "north-clinician", 200),
        ("supervisor", "north-b", 200),
        ("api_key", "north-b", 200),
        ("client_token", "north-clinician", 403),
        ("supervisor", "nobody", 404),
        ("other_clinic_supervisor", "north-clinician", 404),
        ("other_clinic_api_key", "north-clinician", 404),
    ],
)
def test_who_may_read_whose_report(north, south, seeded, who, username, expected):
    api = {
        "clinician": lambda: staff_api(north.clinician),
        "supervisor": lambda: staff_api(north.supervisor),
        "api_key": north.api,
        "client_token": lambda: client_token_api(north.client),
        "other_clinic_supervisor": lambda: staff_api(south.supervisor),
        "other_clinic_api_key": south.api,
    }[who]()

    answer = api.get(f"/api/v1/clinicians/{username}/report/")

    assert answer.status_code == expected, answer.content
    if expected != 200:
        assert "38" not in answer.content.decode() or expected == 403


def test_a_bad_query_is_a_400_problem(north, seeded):
    api = staff_api(north.supervisor)
    for query in ("questionnaire=ors", "questionnaire=nope", "outcome=srs", "from=yesterday", "colour=red",
                  "from=2026-04-01&to=2026-03-01"):
        answer = api.get(f"/api/v1/clinicians/north-clinician/report/?{query}")
        assert answer.status_code == 400, query
        assert answer["Content-Type"] == "application/problem+json"


def test_the_date_range_narrows_the_sessions(north, seeded):
    api = staff_api(north.clinician)

    first_week = api.get("/api/v1/clinicians/north-clinician/report/?from=2026-03-02&to=2026-03-06").json()
    after = api.get("/api/v1/clinicians/north-clinician/report/?from=2026-04-01").json()

    # days 0-4: client ratings 38, 34 and 30 (the clinician's own ratings are not in the mean)
    assert first_week["clinician_figures"]["mean"]["n"] == 3
    assert first_week["clinician_figures"]["mean"]["mean"] == pytest.approx(34.0, **APPROX)
    assert after["clinician_figures"]["mean"]["suppressed"] is True and after["trend"] == []


def test_a_clinician_reading_their_report_gets_no_clinic_figures_that_isolate_one_colleague(north, seeded):
    """Clinic (7 client ratings) minus A's own (4) would be north-b's exact mean: 116 / 3 = 38.6667."""
    report = staff_api(north.clinician).get("/api/v1/clinicians/north-clinician/report/").json()

    clinic = report["clinic_figures"]
    assert clinic["mean"]["suppressed"] is True and clinic["mean"]["mean"] is None
    assert clinic["below_cutoff"]["suppressed"] is True
    assert clinic["outcomes"]["reliable_improvement"]["suppressed"] is True
    assert report["trend"][0]["clinic"]["suppressed"] is True
    assert report["clinician_figures"]["mean"]["n"] == 4  # their own figures stay


def test_the_remainder_rule_needs_two_other_contributors_and_a_full_cell():
    from datetime import date
    from decimal import Decimal

    from questionnaires.selectors.supervision import Session, remainder_isolates

    def session(clinician_id):
        return Session(object(), 1, clinician_id, "client", 1, date(2026, 3, 2), Decimal(30))

    mine = [session(1)] * 4
    assert remainder_isolates(mine + [session(2)] * 5, viewer_clinician_id=1, min_cell=3) is True
    assert remainder_isolates(mine + [session(2)] * 2 + [session(3)] * 2, viewer_clinician_id=1, min_cell=3) is False
    assert remainder_isolates(mine + [session(2), session(None)], viewer_clinician_id=1, min_cell=3) is True
    assert remainder_isolates(mine + [session(2)] * 2 + [session(None)] * 2, viewer_clinician_id=1, min_cell=3) is False
    assert remainder_isolates(mine, viewer_clinician_id=1, min_cell=3) is False
