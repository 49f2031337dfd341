"""Round trip for every built-in: export the Questionnaire, answer it, post it, read back the score Observation.

Scoring runs after commit, so these tests commit for real (transactional database).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from plugins import BUILTIN_PLUGINS
from questionnaires.models import Response
from questionnaires.registry import get_registry
from tests.fhir.conftest import body, response_for

# Definitions with per-client items (gbo: one item per active goal) cannot be answered from the exported
# template alone; tests/practice covers them.
BUILTIN_IDS = sorted(
    {d.id for d in get_registry().all() if any(get_registry().source_of(d).startswith(m) for m in BUILTIN_PLUGINS)
     and d.dynamic_items is None}
)


def test_every_builtin_is_covered():
    assert len(BUILTIN_IDS) == 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("questionnaire_id", BUILTIN_IDS)
def test_an_exported_questionnaire_answered_and_posted_reads_back_as_its_score(north, north_fhir, questionnaire_id):
    definition = get_registry().get(questionnaire_id)
    example = next(e for e in definition.examples if len(e.answers) >= sum(i.required for i in definition.items))
    questionnaire = body(north_fhir.get(f"/fhir/Questionnaire/{questionnaire_id}"))
    resource = response_for(questionnaire, dict(example.answers), subject=north.client.external_id)

    posted = north_fhir.post("/fhir/QuestionnaireResponse", resource)

    assert posted.status_code == 201, posted.content
    stored = QuestionnaireResponse.model_validate(body(posted))
    assert posted["Location"] == f"http://testserver/fhir/QuestionnaireResponse/{stored.id}/_history/1"
    assert stored.questionnaire == f"http://testserver/fhir/Questionnaire/{questionnaire_id}|{definition.version}"
    assert Response.objects.get(pk=stored.id).source == Response.Source.FHIR

    found = body(north_fhir.get("/fhir/Observation", **{"derived-from": f"QuestionnaireResponse/{stored.id}"}))
    Bundle.model_validate(found)
    assert found["total"] == 1
    observation = Observation.model_validate(found["entry"][0]["resource"])
    assert observation.status == "final"
    assert observation.category[0].coding[0].code == "survey"
    assert Decimal(str(observation.valueQuantity.value)) == example.total
    assert observation.effectiveDateTime.isoformat().startswith("2025-03-04T10:15:00")
    assert observation.derivedFrom[0].reference == f"QuestionnaireResponse/{stored.id}"
    assert observation.subject.reference == f"Patient/{north.client.external_id}"
    if example.band:
        assert observation.interpretation[0].coding[0].code == f"{questionnaire_id}-{example.band}"
    components = {c.code.coding[0].code: Decimal(str(c.valueQuantity.value)) for c in observation.component or []}
    for name, value in example.subscales.items():
        assert components[f"{questionnaire_id}-{name}"] == value

    read = north_fhir.get(f"/fhir/Observation/{observation.id}")
    assert read.status_code == 200
    Observation.model_validate(body(read))
