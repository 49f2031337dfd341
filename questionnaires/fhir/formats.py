"""application/fhir+json in and out; plain application/json is accepted too, as most FHIR clients expect."""

from __future__ import annotations

from typing import Any

from questionnaires.api.renderers import JSONParser, JSONRenderer
from questionnaires.fhir.codes import FHIR_JSON


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir+json"


class PlainJSONRenderer(JSONRenderer):
    """For `Accept: application/json` and `_format=json`; same body."""

    format = "json"


class FhirJSONParser(JSONParser):
    """Decimals stay exact on the way in (9.2 is Decimal("9.2"), never a float)."""

    media_type = FHIR_JSON


class LegacyFhirJSONParser(JSONParser):
    """`application/json+fhir`, the DSTU2-era name some clients still send."""

    media_type = "application/json+fhir"


RENDERERS: list[type[Any]] = [FhirJSONRenderer, PlainJSONRenderer]
PARSERS: list[type[Any]] = [FhirJSONParser, JSONParser, LegacyFhirJSONParser]
