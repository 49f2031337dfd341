"""Real-world QuestionnaireResponses (LHC-Forms renderings of LOINC forms, the HL7 PHR IG, SMART sample data).

Each case was refused before; the expected answers, total and band are the hand-scored values of the
instrument (GAD-7: Spitzer et al. 2006; PHQ-9: Kroenke et al. 2001).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from plugins.gad_7 import GAD_7
from questionnaires.models import Alert, Response, Score
from tests.factories import TherapyClientFactory
from tests.fhir.conftest import body

CASES = Path(__file__).parent / "cases"


def _case(name: str) -> dict:
    return json.loads((CASES / f"{name}.json").read_text())


@pytest.fixture
def rw_client(north):
    return TherapyClientFactory(clinic=north.clinic, external_id="rw-client-1")


def _stored(posted) -> tuple[Response, Score]:
    assert posted.status_code == 201, posted.content
    response = Response.objects.get(pk=posted["Location"].split("/QuestionnaireResponse/")[1].split("/")[0])
    return response, Score.objects.get(response=response)


def _answers(response: Response, count: int) -> list[int]:
    return [response.answers[str(number)] for number in range(1, count + 1)]


@pytest.mark.django_db(transaction=True)
def test_case_02_gad7_more_days_than_not_scores_10_moderate_and_screens_positive(rw_client, north_fhir):
    response, score = _stored(north_fhir.post("/fhir/QuestionnaireResponse", _case("02-gad7-loinc-more-days-than-not")))
    assert _answers(response, 7) == [2, 2, 2, 2, 1, 1, 0]
    assert score.total == Decimal(10)
    assert score.band == "moderate"
    assert score.total >= GAD_7.clinical_cutoff


@pytest.mark.django_db(transaction=True)
def test_case_03_gad7_with_loincs_item_2_wording_scores_3_minimal_with_a_warning(rw_client, north_fhir):
    posted = north_fhir.post("/fhir/QuestionnaireResponse", _case("03-gad7-loinc-item2-text"))
    response, score = _stored(posted)
    assert _answers(response, 7) == [0, 0, 1, 1, 0, 1, 0]
    assert (score.total, score.band) == (Decimal(3), "minimal")
    outcome = OperationOutcome.model_validate(body(posted))
    warnings = [issue for issue in outcome.issue if issue.severity == "warning"]
    assert [issue.expression for issue in warnings] == [["QuestionnaireResponse.item[1].text"]]
    assert "'/68509-9'" in warnings[0].diagnostics


@pytest.mark.django_db(transaction=True)
def test_case_04_phq9_with_item_8_in_another_tense_scores_3_without_a_risk_flag(rw_client, north_fhir):
    posted = north_fhir.post("/fhir/QuestionnaireResponse", _case("04-phq9-reworded-item8-text"))
    response, score = _stored(posted)
    assert _answers(response, 9) == [0, 0, 1, 1, 1, 0, 0, 0, 0]
    assert (score.total, score.band) == (Decimal(3), "none_minimal")
    assert score.flags == []
    assert not Alert.objects.filter(response=response).exists()
    outcome = OperationOutcome.model_validate(body(posted))
    assert [issue.expression for issue in outcome.issue if issue.severity == "warning"] == [
        ["QuestionnaireResponse.item[7].text"]
    ]


def test_and_the_other_clinic_cannot_post_for_the_case_client(rw_client, south_fhir):
    posted = south_fhir.post("/fhir/QuestionnaireResponse", _case("02-gad7-loinc-more-days-than-not"))
    assert posted.status_code == 422
    assert not Response.objects.exists()
