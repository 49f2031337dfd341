"""A client form and a therapist form of one alliance instrument, paired by `rated_with`, compared like one instrument.

This module is also the plugin the tests load: its `QUESTIONNAIRES` are the two sides of the pair.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import replace
from decimal import Decimal

import pytest

import plugins
from questionnaires.contract import AnswerOption, Example, Item, Questionnaire, Scoring
from questionnaires.definitions import content_hash, definition_as_dict
from questionnaires.models import Alert, ClinicAlertSettings
from questionnaires.registry import ENTRY_POINT_GROUP, load_registry, set_registry
from tests.workers.helpers import kinds_of

OPTIONS = tuple(AnswerOption(value=value, label=str(value)) for value in range(11))


def side(questionnaire_id: str, respondent: str, partner: str, *, top: int = 10) -> Questionnaire:
    options = OPTIONS[: top + 1]
    return Questionnaire(
        id=questionnaire_id,
        version="1.0.0",
        title=f"Paired alliance form ({respondent})",
        respondent=respondent,  # type: ignore[arg-type]
        items=tuple(Item(link_id=str(number), label=f"Item {number}", options=options) for number in range(1, 5)),
        scoring=Scoring(method="sum", total_min=Decimal(0), total_max=Decimal(4 * top), description="Sum of 4 items."),
        reference="None: a test fixture.",
        license="Test fixture.",
        construct="alliance",
        examples=(Example(description="all 1", answers={str(n): 1 for n in range(1, 5)}, total=Decimal(4)),),
        rated_with=partner,
    )


QUESTIONNAIRES = (
    side("pair-client", "client", "pair-therapist"),
    side("pair-therapist", "clinician", "pair-client"),
)
NARROW = (side("pair-narrow", "clinician", "pair-client", top=5),)
"""A therapist form on a 0-20 scale: not comparable with the 0-40 client form."""
SECOND = (side("pair-a-second", "clinician", "pair-client"),)
"""A second therapist form claiming the client form, which already has a partner."""


def load(**kwargs):
    kwargs.setdefault("entry_points", [])
    return load_registry(builtin_modules=[*plugins.BUILTIN_PLUGINS, __name__], autoload=True, **kwargs)


@pytest.fixture
def paired():
    registry = load()
    assert registry.problems == []
    previous = set_registry(registry)
    yield registry
    set_registry(previous)


def each(value: int) -> dict[str, int]:
    return {str(number): value for number in range(1, 5)}


def test_the_pair_is_symmetric_whichever_side_declares_it(paired):
    assert paired.rating_partner("pair-client") == "pair-therapist"
    assert paired.rating_partner("pair-therapist") == "pair-client"
    assert paired.rating_partner("srs") is None
    one_sided = replace(QUESTIONNAIRES[1], rated_with=None)
    paired.definitions[one_sided.key] = one_sided
    assert paired.rating_partner("pair-therapist") == "pair-client"


def test_rated_with_leaves_the_content_hash_alone_and_is_served():
    definition = QUESTIONNAIRES[0]
    assert content_hash(definition) == content_hash(replace(definition, rated_with=None))
    assert definition_as_dict(definition)["rated_with"] == "pair-therapist"


def test_a_rated_with_naming_no_loaded_questionnaire_leaves_that_definition_out():
    registry = load(exclude=["pair-therapist"])
    assert registry.get("pair-client") is None
    assert registry.get("srs") is not None
    assert [(problem.source, problem.stage) for problem in registry.problems] == [(__name__, "validation")]
    assert "rated_with names 'pair-therapist', which is not loaded" in registry.problems[0].message


def test_a_partner_on_another_total_range_leaves_the_declaring_definition_out():
    entry_point = importlib.metadata.EntryPoint(name="narrow", value=f"{__name__}:NARROW", group=ENTRY_POINT_GROUP)
    registry = load(entry_points=[entry_point])
    assert registry.get("pair-narrow") is None
    assert registry.get("pair-client") is not None and registry.get("pair-therapist") is not None
    assert [problem.stage for problem in registry.problems] == ["validation"]
    assert "total range other than 0-20" in registry.problems[0].message


def test_a_questionnaire_already_paired_cannot_gain_a_second_partner():
    entry_point = importlib.metadata.EntryPoint(name="second", value=f"{__name__}:SECOND", group=ENTRY_POINT_GROUP)
    registry = load(entry_points=[entry_point])
    assert registry.get("pair-a-second") is None
    assert registry.rating_partner("pair-client") == "pair-therapist"
    assert [problem.stage for problem in registry.problems] == ["validation"]
    assert "'pair-client' is already paired with 'pair-therapist'" in registry.problems[0].message


def test_a_large_gap_between_the_client_form_and_the_therapist_form_raises_rater_gap(paired, north, scored):
    scored(north, "pair-client", each(9), session=3, days=3)  # 36
    clinician = scored(north, "pair-therapist", each(6), session=3, days=3, rater="clinician")  # 24
    alert = Alert.objects.get(response_id=clinician["id"], kind="rater_gap")
    # 36 - 24 = 12 >= a quarter of the 0-40 range
    assert Decimal(alert.details["gap"]) == Decimal(12)
    assert alert.details["counterpart_questionnaire"] == "pair-client"
    scored(north, "pair-therapist", each(8), session=4, days=4, rater="clinician")  # 32
    client_side = scored(north, "pair-client", each(10), session=4, days=4)  # 40 - 32 = 8 < 10
    assert "rater_gap" not in kinds_of(client_side["id"])
    assert Alert.objects.filter(kind="rater_gap").count() == 1


def test_the_clinic_threshold_decides_for_a_declared_pair(paired, north, scored):
    ClinicAlertSettings.objects.update_or_create(
        clinic=north.clinic, defaults={"rater_gap_threshold": {"pair-client": 4, "pair-therapist": 4}}
    )
    scored(north, "pair-therapist", each(7), session=1, days=1, rater="clinician")  # 28
    below = scored(north, "pair-client", each(7), session=1, days=1)  # 28: no gap
    scored(north, "pair-therapist", each(6), session=2, days=2, rater="clinician")  # 24
    above = scored(north, "pair-client", each(7), session=2, days=2)  # 28 - 24 = 4 >= 4
    assert "rater_gap" not in kinds_of(below["id"])
    assert "rater_gap" in kinds_of(above["id"])


def test_ratings_on_a_pair_in_different_sessions_are_not_compared(paired, north, scored):
    scored(north, "pair-client", each(10), session=1, days=1)
    clinician = scored(north, "pair-therapist", each(0), session=2, days=2, rater="clinician")
    assert "rater_gap" not in kinds_of(clinician["id"])


def test_the_trajectory_shows_a_declared_pair_and_its_gap(paired, north, scored):
    client_side = scored(north, "pair-client", each(9), session=2, days=2)
    clinician_side = scored(north, "pair-therapist", each(7), session=2, days=2, rater="clinician")
    scored(north, "pair-client", each(9), session=3, days=3)  # only the client rated session 3
    whole = north.api().get(f"/api/v1/clients/{north.client.external_id}/scores/").json()
    one_side = north.api().get(f"/api/v1/clients/{north.client.external_id}/scores/?questionnaire=pair-client").json()
    # asking for one side of a declared pair still shows both sides and their gap
    assert {point["questionnaire"] for point in one_side["points"]} == {"pair-client", "pair-therapist"}
    assert one_side["discrepancies"] == whole["discrepancies"]
    assert whole["discrepancies"] == [
        {
            "questionnaire": "pair-client",
            "clinician_questionnaire": "pair-therapist",
            "session": 2,
            "client_total": 36,
            "clinician_total": 28,
            "gap": 8,
            "client_response": client_side["id"],
            "clinician_response": clinician_side["id"],
        }
    ]
