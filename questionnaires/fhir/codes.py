"""The URLs and code systems the FHIR edge uses: HL7 extensions, LOINC, and the project's own code systems."""

from __future__ import annotations

from decimal import Decimal

from questionnaires.contract import LOINC, AnswerOption, Code, Item, Questionnaire

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"

ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
"""The R5 name of the ordinal value; read on input so R5-minded clients are understood."""
ORDINAL_EXTENSIONS = (ORDINAL_VALUE, ITEM_WEIGHT, "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value")
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
MAX_DECIMAL_PLACES = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"

__all__ = ["LOINC"]


def questionnaire_url(base: str, questionnaire_id: str) -> str:
    return f"{base}/Questionnaire/{questionnaire_id}"


def answer_system(base: str, questionnaire_id: str) -> str:
    """The project's own code system for one questionnaire's answers; codes are the ordinal values."""
    return f"{base}/CodeSystem/{questionnaire_id}-answers"


def score_system(base: str) -> str:
    """The project's own code system for scores: `<questionnaire id>-total`, `<questionnaire id>-<subscale>`."""
    return f"{base}/CodeSystem/score"


def band_system(base: str) -> str:
    """The project's own code system for interpretation bands: `<questionnaire id>-<band name>`."""
    return f"{base}/CodeSystem/band"


def ordinal_code(value: int | Decimal) -> str:
    return str(value)


def option_coding(base: str, definition: Questionnaire, option: AnswerOption) -> dict:
    """The Coding served for an answer option: its LOINC answer code where the plugin has one."""
    if option.code is not None:
        return {"system": option.code.system, "code": option.code.code, "display": option.label}
    return {"system": answer_system(base, definition.id), "code": ordinal_code(option.value), "display": option.label}


def ordinal_extension(value: int | Decimal) -> dict:
    return {"url": ORDINAL_VALUE, "valueDecimal": Decimal(value)}


def code_as_coding(code: Code) -> dict:
    return {"system": code.system, "code": code.code, **({"display": code.display} if code.display else {})}


def total_codings(base: str, definition: Questionnaire) -> list[dict]:
    """The total's codings: LOINC where the plugin has one, always also the project's own code."""
    own = {"system": score_system(base), "code": f"{definition.id}-total", "display": f"{definition.title} total"}
    return [code_as_coding(definition.total_code), own] if definition.total_code else [own]


def item_by_code(definition: Questionnaire, code: str) -> Item | None:
    """The item carrying this (LOINC) code, for EHRs whose linkIds are item codes like `/44250-9`."""
    for item in definition.items:
        if item.code is not None and item.code.code == code:
            return item
    return None
