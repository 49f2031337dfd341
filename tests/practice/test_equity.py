"""Equity view: consented background values, used only in aggregate, with n < 11 and complementary suppression."""

from __future__ import annotations

import json

import pytest

from questionnaires.models import AuditEvent, ClientBackground
from questionnaires.selectors.equity import EquityCell, complementary_suppress
from tests.api.conftest import client_token_api, problem_fields, staff_api
from tests.factories import TherapyClientFactory
from tests.practice.helpers import body, marks

pytestmark = pytest.mark.django_db

CATEGORY = {"name": "preferred-language", "title": "Preferred language", "values": ["English", "Polish"]}


@pytest.fixture(autouse=True)
def count_the_current_month(settings):
    """These tests are about cells and suppression, on data received today; the month cut has tests of its own."""
    settings.EQUITY_CLOSED_MONTHS_ONLY = False


def define(persona) -> None:
    answer = staff_api(persona.supervisor).post("/api/v1/background-categories/", CATEGORY, format="json")
    assert answer.status_code == 201, answer.content


def record(persona, external_id: str, value: str | None, consent: bool):
    payload = {"category": "preferred-language", "consent": consent}
    if value is not None:
        payload["value"] = value
    return staff_api(persona.clinician).post(f"/api/v1/clients/{external_id}/background/", payload, format="json")


@pytest.fixture
def clinic_groups(north, scored):
    """12 English speakers (SRS 38), 3 Polish speakers (SRS 30), 14 without a consented value (SRS 36).

    Two of the 14 were asked and declined (consent false), one gave a value and withdrew it.
    """
    define(north)
    groups = [("English", 38, 12), ("Polish", 30, 3), (None, 36, 14)]
    day = 0
    for index, (value, total, count) in enumerate(groups):
        for number in range(count):
            external_id = f"north-g{index}-{number}"
            client = TherapyClientFactory(clinic=north.clinic, external_id=external_id)
            client.clinicians.add(north.clinician)
            if value is not None:
                assert record(north, external_id, value, True).json() == {"category": "preferred-language",
                                                                         "stored": True}
            elif number < 2:
                assert record(north, external_id, "Polish", False).json()["stored"] is False
            elif number == 2:
                record(north, external_id, "Polish", True)
                record(north, external_id, None, False)
            scored(north.api(), body("srs", external_id, marks(total), days=day % 20, clinician="north-clinician"))
            day += 1


def equity(api):
    return api.get("/api/v1/equity/?questionnaire=srs&category=preferred-language")


def test_small_groups_are_suppressed_and_so_is_their_complement(north, clinic_groups):
    answer = equity(staff_api(north.supervisor))
    assert answer.status_code == 200
    clinic = {cell["group"]: cell for cell in answer.json()["clinic"]}

    # Polish: 3 clients < 11, suppressed; it is then the only hidden cell of the clinic line, so the next
    # smallest (English, 12) is hidden too, or Polish = clinic total - English - not recorded.
    assert clinic["Polish"]["suppressed"] and clinic["Polish"]["clients"] is None
    assert clinic["English"]["suppressed"] and clinic["English"]["mean"] is None
    assert clinic["not_recorded"] == {
        "group": "not_recorded", "suppressed": False, "clients": 14, "sessions": 14, "mean": 36.0,
        "below_cutoff_share": 0.0,
    }
    rows = {cell["group"]: cell for cell in answer.json()["clinicians"] if cell["clinician"] == "north-clinician"}
    assert rows["Polish"]["suppressed"] and rows["English"]["suppressed"]
    assert rows["not_recorded"]["clients"] == 14
    assert answer.json()["min_cell"] == 11


def test_groups_of_eleven_or_more_are_shown(north, clinic_groups, settings):
    settings.EQUITY_MIN_CELL = 3
    clinic = {cell["group"]: cell for cell in equity(north.api()).json()["clinic"]}

    assert (clinic["English"]["clients"], clinic["English"]["mean"]) == (12, 38.0)
    assert (clinic["Polish"]["clients"], clinic["Polish"]["mean"], clinic["Polish"]["below_cutoff_share"]) == (
        3, 30.0, 1.0)


def test_without_consent_nothing_is_stored_or_counted(north, clinic_groups, settings):
    settings.EQUITY_MIN_CELL = 1

    assert ClientBackground.objects.count() == 15
    assert all(row.consent and row.consented_at for row in ClientBackground.objects.all())
    clinic = {cell["group"]: cell for cell in equity(north.api()).json()["clinic"]}
    assert clinic["Polish"]["clients"] == 3  # the two who declined and the one who withdrew are not here
    assert clinic["not_recorded"]["clients"] == 14


def test_category_values_never_appear_outside_the_aggregate(north, clinic_groups):
    api = staff_api(north.supervisor)
    reads = [
        api.get("/api/v1/clients/north-g1-0/"),
        api.get("/api/v1/clients/?page_size=100"),
        api.get("/api/v1/responses/?client=north-g1-0"),
        api.get("/api/v1/clients/north-g1-0/scores/"),
        api.get("/api/v1/alerts/"),
        api.get("/api/v1/metrics/?questionnaire=srs&group_by=clinician"),
        north.api().get("/api/v1/clients/north-g1-0/"),
    ]
    for answer in reads:
        assert answer.status_code == 200
        assert "Polish" not in answer.content.decode() and "English" not in answer.content.decode()
    audit = json.dumps([[event.detail, event.object_ids] for event in AuditEvent.objects.all()])
    assert "Polish" not in audit and "English" not in audit


@pytest.mark.parametrize(
    "who, expected",
    [("supervisor", 200), ("api_key", 200), ("clinician", 403), ("client_token", 403)],
)
def test_only_supervisors_and_api_keys_read_the_equity_view(north, who, expected):
    define(north)
    api = {
        "supervisor": lambda: staff_api(north.supervisor), "api_key": north.api,
        "clinician": lambda: staff_api(north.clinician), "client_token": lambda: client_token_api(north.client),
    }[who]()

    assert equity(api).status_code == expected


def test_another_clinics_category_does_not_exist_for_the_caller(north, south):
    define(north)

    answer = equity(staff_api(south.supervisor))

    assert answer.status_code == 400 and problem_fields(answer) == {"category"}
    assert record(south, "north-client-1", "Polish", True).status_code == 404


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"category": "preferred-language", "value": "Klingon", "consent": True}, "value"),
        ({"category": "preferred-language", "value": "Polish", "consent": "yes"}, "consent"),
        ({"category": "preferred-language", "value": "Polish"}, "consent"),
        ({"category": "faith", "value": "Polish", "consent": True}, "category"),
        ({"category": "preferred-language", "value": "Polish", "consent": True, "extra": 1}, "extra"),
    ],
)
def test_bad_background_writes_are_400s(north, payload, field):
    define(north)

    answer = staff_api(north.clinician).post("/api/v1/clients/north-client-1/background/", payload, format="json")

    assert answer.status_code == 400 and field in problem_fields(answer)
    assert not ClientBackground.objects.exists()


def test_only_supervisors_and_api_keys_define_categories(north):
    assert staff_api(north.clinician).post("/api/v1/background-categories/", CATEGORY, format="json").status_code == 403
    define(north)
    again = north.api().post("/api/v1/background-categories/", CATEGORY, format="json")
    assert again.status_code == 409
    bad = north.api().post("/api/v1/background-categories/", {"name": "Bad Name", "values": []}, format="json")
    assert bad.status_code == 400 and problem_fields(bad) == {"name", "values"}
    assert staff_api(north.clinician).get("/api/v1/background-categories/").json()["results"][0]["values"] == [
        "English", "Polish"]


def _cell(clinician, group, n):
    cell = EquityCell(clinician, group, clients=set(range(n)))
    cell.suppressed = 0 < n < 11
    return cell


def test_complementary_suppression_closes_columns_as_well_as_rows():
    """Clinic row: A 30, B 40 (both shown). Clinician rows: x/A 25, x/B 12; y/A 5, y/B 28.

    y/A (5) is hidden; row y then needs a second hidden cell (y/B); column A (clinic A = x/A + y/A)
    then needs one more (x/A), and row x then needs x/B: four cells hidden, none derivable.
    """
    clinic = {"A": _cell(None, "A", 30), "B": _cell(None, "B", 40)}
    x = {"A": _cell("x", "A", 25), "B": _cell("x", "B", 12)}
    y = {"A": _cell("y", "A", 5), "B": _cell("y", "B", 28)}
    cells = [*clinic.values(), *x.values(), *y.values()]
    equations = [list(clinic.values()), list(x.values()), list(y.values()),
                 [clinic["A"], x["A"], y["A"]], [clinic["B"], x["B"], y["B"]]]

    complementary_suppress(equations, publishable={id(cell) for cell in cells})

    assert [cell.suppressed for cell in (x["A"], x["B"], y["A"], y["B"])] == [True, True, True, True]
    for equation in equations:
        assert sum(cell.suppressed for cell in equation) != 1


def test_by_default_a_new_submission_moves_no_equity_count_so_it_cannot_reveal_a_background(north, scored, settings):
    """A supervisor submits once for a client and compares the view: nothing received this month is counted."""
    settings.EQUITY_CLOSED_MONTHS_ONLY = True
    settings.EQUITY_MIN_CELL = 1
    define(north)
    client = TherapyClientFactory(clinic=north.clinic, external_id="north-probe")
    client.clinicians.add(north.clinician)
    record(north, "north-probe", "Polish", True)
    before = equity(staff_api(north.supervisor)).json()

    scored(north.api(), body("srs", "north-probe", marks(20), days=4))
    after = equity(staff_api(north.supervisor)).json()

    assert after["clinic"] == before["clinic"]
    assert after["received_before"].endswith("T00:00:00+00:00") and after["received_before"][8:10] == "01"


def test_responses_received_before_the_month_began_are_counted(north, scored, settings):
    from django.utils import timezone

    from questionnaires.models import Response

    settings.EQUITY_CLOSED_MONTHS_ONLY = True
    settings.EQUITY_MIN_CELL = 1
    define(north)
    client = TherapyClientFactory(clinic=north.clinic, external_id="north-earlier")
    client.clinicians.add(north.clinician)
    record(north, "north-earlier", "Polish", True)
    scored(north.api(), body("srs", "north-earlier", marks(20), days=4))
    Response.objects.filter(client=client).update(received_at=timezone.now() - timezone.timedelta(days=40))

    clinic = {cell["group"]: cell for cell in equity(staff_api(north.supervisor)).json()["clinic"]}
    assert clinic["Polish"]["clients"] == 1 and clinic["Polish"]["mean"] == 20.0
