"""The URLs and code systems the FHIR edge uses: HL7 extensions, LOINC, and the project's own code systems."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings

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


_LOINC_CODE = re.compile(r"^\d{1,7}-\d$")
_LOINC_ANSWER_CODE = re.compile(r"^LA\d{1,7}-\d$")


def canonical_base() -> str:
    """The base of every canonical this server mints (FHIR_CANONICAL_BASE), never the request's Host."""
    return settings.FHIR_CANONICAL_BASE


def own_canonical_bases() -> tuple[str, ...]:
    """The canonical base and its former values (FHIR_CANONICAL_ALIASES), all read as this server's own."""
    return (settings.FHIR_CANONICAL_BASE, *settings.FHIR_CANONICAL_ALIASES)


def is_loinc_system(system: str | None) -> bool:
    """LOINC's system URI, also as https or with a trailing slash (both seen from real senders)."""
    return system is not None and system.strip().rstrip("/").removeprefix("https://").removeprefix("http://") in (
        "loinc.org",
        "www.loinc.org",
    )


def looks_like_loinc_code(code: str) -> bool:
    return bool(_LOINC_CODE.match(code))


def looks_like_loinc_answer_code(code: str | None) -> bool:
    return code is not None and bool(_LOINC_ANSWER_CODE.match(code))


def loinc_form_code(url: str) -> str | None:
    """The LOINC panel code a LOINC form URL names: http://loinc.org/q/44249-1, also https, /44249-1, or `|2.77`."""
    parts = urlsplit(url.partition("|")[0].strip())
    if parts.scheme not in ("http", "https") or parts.netloc not in ("loinc.org", "www.loinc.org"):
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) == 2 and segments[0] == "q" and looks_like_loinc_code(segments[1]):
        return segments[1]
    if len(segments) == 1 and looks_like_loinc_code(segments[0]):
        return segments[0]
    return None


def loinc_code_in_definition(definition: str | None) -> str | None:
    """The LOINC item code an `item.definition` names, or None when it names none.

    Read forms: `http://loinc.org/q/44249-1#44250-9` (a LOINC form's canonical and the item's code as the
    SDC linkId fragment), `http://loinc.org#44250-9`, `http://loinc.org/44250-9` and
    `http://loinc.org/rdf/44250-9`; http or https.
    """
    if not definition:
        return None
    url, _, fragment = definition.strip().partition("#")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc not in ("loinc.org", "www.loinc.org"):
        return None
    if fragment:
        return fragment if looks_like_loinc_code(fragment) else None
    last = [segment for segment in parts.path.split("/") if segment][-1:] or [""]
    return last[0] if looks_like_loinc_code(last[0]) else None


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
