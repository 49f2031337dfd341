"""Validation of every outgoing resource through the independent `fhir.resources` R4B models."""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B import get_fhir_model_class


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as the R4B model serialises it; raises if it is not valid FHIR.

    Building dicts and round-tripping them through the model keeps our code readable while
    guaranteeing that nothing invalid reaches an EHR.
    """
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return json.loads(model.model_dump_json(exclude_none=True))
