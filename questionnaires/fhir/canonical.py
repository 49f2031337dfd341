"""Which instrument a QuestionnaireResponse's `questionnaire` canonical names, and through which form.

Accepted: this server's own canonicals (FHIR_CANONICAL_BASE or one of FHIR_CANONICAL_ALIASES, or a
relative `Questionnaire/<id>`), with `|version` pinning the plugin version; LOINC form URLs
(`http://loinc.org/q/44249-1`, whose `|version` is LOINC's release, not ours); a `contained`
Questionnaire (`#id`); and a foreign form the clinic registered. Another host's `…/Questionnaire/phq-9`
is refused: the same path on another server may be another form with other weights.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from questionnaires.contract import Questionnaire
from questionnaires.fhir.codes import canonical_base, loinc_form_code, own_canonical_bases, questionnaire_url
from questionnaires.fhir.foreign import ForeignForm, foreign_form, foreign_mapping
from questionnaires.fhir.outcome import FhirError, Issue

ROOT = "QuestionnaireResponse"
WHERE = f"{ROOT}.questionnaire"
_ANY_QUESTIONNAIRE = re.compile(r"/Questionnaire/([^/|?#]+)$")

RegisteredForm = Callable[[str, str | None], ForeignForm | None]
"""Looks up the caller's clinic's registered form by (url, version or None)."""


@dataclass(frozen=True)
class Resolved:
    definition: Questionnaire
    version_given: bool
    form: ForeignForm | None = None
    own: bool = False
    """True when the canonical is this server's: the product's bare linkIds are then certain identities."""


def resolve_canonical(
    canonical: str | None, *, registry: Any, payload: dict, registered_form: RegisteredForm | None
) -> Resolved:
    """The definition (and foreign form) a canonical names, or a 422 FhirError on `questionnaire`."""
    if not canonical:
        raise _refusal("required", "questionnaire (the canonical URL) is required")
    if canonical.startswith("#"):
        return _contained(canonical, registry=registry, payload=payload)
    url, _, version = canonical.partition("|")
    url = url.strip().rstrip("/")
    questionnaire_id = _own_questionnaire_id(url)
    if questionnaire_id is not None:
        return _own(questionnaire_id, version, canonical, registry)
    panel = loinc_form_code(url)
    if panel is not None:
        matches = [d for d in registry.all() if d.code is not None and d.code.code == panel]
        ids = {d.id for d in matches}
        if len(ids) == 1:
            return Resolved(definition=registry.get(ids.pop()), version_given=False)
        raise _refusal("not-found", f"LOINC form {panel} ({canonical!r}) is not an instrument this server scores")
    form = registered_form(url, version or None) if registered_form is not None else None
    if form is not None:
        definition = registry.get(form.questionnaire_id)
        if definition is None:
            raise _refusal(
                "not-found", f"registered form {canonical!r} maps onto {form.questionnaire_id}, which is not loaded"
            )
        return Resolved(definition=definition, version_given=False, form=form)
    elsewhere = _ANY_QUESTIONNAIRE.search(url)
    if elsewhere is not None and registry.get(elsewhere.group(1)) is not None:
        own = questionnaire_url(canonical_base(), elsewhere.group(1))
        raise _refusal(
            "not-found",
            f"{canonical!r} is not this server's canonical: another server's form of that name may differ. Use "
            f"{own!r}, the instrument's LOINC form URL, or register your form with POST /fhir/Questionnaire",
        )
    raise _refusal("not-found", f"unknown questionnaire {canonical!r}")


def _own_questionnaire_id(url: str) -> str | None:
    if url.startswith("Questionnaire/"):
        rest = url.removeprefix("Questionnaire/")
        return rest if rest and "/" not in rest else None
    for base in own_canonical_bases():
        prefix = f"{base}/Questionnaire/"
        if url.startswith(prefix):
            rest = url.removeprefix(prefix)
            return rest if rest and "/" not in rest else None
    return None


def _own(questionnaire_id: str, version: str, canonical: str, registry: Any) -> Resolved:
    if registry.get(questionnaire_id) is None:
        raise _refusal("not-found", f"unknown questionnaire {canonical!r}")
    definition = registry.get(questionnaire_id, version or None)
    if definition is None:
        known = ", ".join(d.version for d in registry.all() if d.id == questionnaire_id)
        raise _refusal("not-found", f"questionnaire {questionnaire_id} has no version {version!r} (known: {known})")
    return Resolved(definition=definition, version_given=bool(version), own=True)


def _contained(canonical: str, *, registry: Any, payload: dict) -> Resolved:
    wanted = canonical[1:].partition("|")[0]
    for index, resource in enumerate(payload.get("contained") or []):
        if (
            isinstance(resource, dict)
            and resource.get("resourceType") == "Questionnaire"
            and resource.get("id") == wanted
        ):
            definition, mapping = foreign_mapping(resource, registry=registry, where=f"{ROOT}.contained[{index}]")
            form = foreign_form(
                str(resource.get("url") or canonical), str(resource.get("version") or ""), mapping, origin="contained"
            )
            return Resolved(definition=definition, version_given=False, form=form)
    raise _refusal("not-found", f"{canonical!r} names no contained Questionnaire")


def _refusal(code: str, diagnostics: str) -> FhirError:
    return FhirError(422, [Issue(code=code, diagnostics=diagnostics, expression=(WHERE,))])
