"""A sender's own Questionnaire (contained in a response or registered beforehand) read as a map onto a plugin.

The form is never scored by itself: its items are matched to the plugin's items by their LOINC `code`
(or `definition`), its computed total by the plugin's total code, and each answer option keeps the
weight the form declares (`ordinalValue`, or the R5 name `itemWeight`) so a response to the form is
scored with the weights its sender showed the respondent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from questionnaires.contract import Questionnaire
from questionnaires.fhir.codes import (
    ORDINAL_EXTENSIONS,
    is_loinc_system,
    loinc_code_in_definition,
    loinc_form_code,
    own_canonical_bases,
)
from questionnaires.fhir.outcome import FhirError, Issue

ROOT = "Questionnaire"


@dataclass(frozen=True)
class ForeignOption:
    system: str | None
    code: str
    weight: Decimal | None


@dataclass(frozen=True)
class ForeignItem:
    """One item of the sender's form: the plugin item it is (`target`), or the instrument's total."""

    link_id: str
    target: str | None
    total: bool
    options: tuple[ForeignOption, ...] = ()

    def option_for(self, system: str | None, code: str | None) -> ForeignOption | None:
        """The option a Coding names: same code, and the same system where both sides state one."""
        for option in self.options:
            if option.code == code and (system is None or option.system is None or _same_system(system, option.system)):
                return option
        return None


@dataclass(frozen=True)
class ForeignForm:
    url: str
    version: str
    questionnaire_id: str
    items: dict[str, ForeignItem]
    origin: str  # "contained" or "registered"


def _same_system(left: str, right: str) -> bool:
    return left == right or (is_loinc_system(left) and is_loinc_system(right))


def foreign_mapping(resource: Any, *, registry: Any, where: str = ROOT) -> tuple[Questionnaire, dict[str, Any]]:
    """The plugin a sender's Questionnaire maps onto and its JSON-ready mapping, or a FhirError naming each problem.

    The instrument is the plugin whose LOINC panel code is the form's `code`, or else the one plugin
    all of its coded items belong to. An answer option whose LOINC code the plugin knows must carry
    the same weight the plugin gives it: a form that says "Not at all" is worth 3 is refused.
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        raise FhirError(
            400, [Issue(code="structure", diagnostics="expected a Questionnaire resource", expression=(where,))]
        )
    definition = _instrument(resource, registry, where)
    issues: list[Issue] = []
    items: dict[str, Any] = {}
    for link_id, item, path in _walk(resource.get("item") or [], f"{where}.item"):
        target, total = _item_target(item, definition)
        if target is None and not total:
            continue
        if link_id in items:
            issues.append(Issue(code="invalid", diagnostics=f"linkId {link_id!r} appears twice", expression=(path,)))
            continue
        options = []
        plugin_item = definition.item(target) if target else None
        for index, option in enumerate(item.get("answerOption") or []):
            coding = option.get("valueCoding") if isinstance(option, dict) else None
            if not isinstance(coding, dict) or not coding.get("code"):
                continue
            weight = (
                _weight(option.get("extension"))
                if _weight(option.get("extension")) is not None
                else _weight(coding.get("extension"))
            )
            known = _known_value(plugin_item, coding) if plugin_item is not None else None
            if weight is not None and known is not None and known != weight:
                issues.append(
                    Issue(
                        code="value",
                        expression=(f"{path}.answerOption[{index}]",),
                        diagnostics=(
                            f"linkId {link_id!r}: answer {coding.get('code')} is worth {known} on {definition.id} "
                            f"item {target}, but the form gives it {weight}"
                        ),
                    )
                )
            options.append(
                {
                    "system": coding.get("system"),
                    "code": coding["code"],
                    "weight": None if weight is None else str(weight),
                }
            )
        items[link_id] = {"target": target, "total": total, "options": options}
    if not any(entry["target"] for entry in items.values()):
        issues.append(
            Issue(
                code="business-rule",
                expression=(f"{where}.item",),
                diagnostics=f"no item of the form carries the LOINC code of a {definition.id} item",
            )
        )
    if issues:
        raise FhirError(422, issues)
    return definition, {"questionnaire_id": definition.id, "items": items}


def foreign_form(url: str, version: str, mapping: dict[str, Any], *, origin: str) -> ForeignForm:
    """The runtime view of a stored (or just built) mapping."""
    items = {
        link_id: ForeignItem(
            link_id=link_id,
            target=entry.get("target"),
            total=bool(entry.get("total")),
            options=tuple(
                ForeignOption(
                    system=option.get("system"),
                    code=option["code"],
                    weight=Decimal(option["weight"]) if option.get("weight") is not None else None,
                )
                for option in entry.get("options") or []
            ),
        )
        for link_id, entry in (mapping.get("items") or {}).items()
    }
    return ForeignForm(
        url=url, version=version, questionnaire_id=mapping["questionnaire_id"], items=items, origin=origin
    )


def refuse_own_or_loinc_url(url: str, where: str) -> None:
    """A registered form never takes the place of a plugin (this server's canonicals) or of a LOINC form."""
    bare = url.partition("|")[0].rstrip("/")
    if any(bare == base or bare.startswith(f"{base}/") for base in own_canonical_bases()):
        raise FhirError(
            422,
            [
                Issue(
                    code="business-rule",
                    expression=(where,),
                    diagnostics=f"{url!r} is under this server's own canonical base; a foreign form needs its own URL",
                )
            ],
        )
    if loinc_form_code(bare) is not None:
        raise FhirError(
            422,
            [
                Issue(
                    code="business-rule",
                    expression=(where,),
                    diagnostics=f"{url!r} is a LOINC form, understood without registration",
                )
            ],
        )


def _instrument(resource: dict, registry: Any, where: str) -> Questionnaire:
    panel_codes = {
        coding.get("code")
        for coding in resource.get("code") or []
        if isinstance(coding, dict) and (coding.get("system") is None or is_loinc_system(coding.get("system")))
    }
    by_panel = {d.id for d in registry.all() if d.code is not None and d.code.code in panel_codes}
    if len(by_panel) == 1:
        return registry.get(by_panel.pop())
    item_codes = {code for _, item, _ in _walk(resource.get("item") or [], "") for code in _item_codes(item)}
    by_items = {
        d.id for d in registry.all() if any(item.code is not None and item.code.code in item_codes for item in d.items)
    }
    if len(by_items) == 1:
        return registry.get(by_items.pop())
    found = ", ".join(sorted(by_panel or by_items)) or "none"
    raise FhirError(
        422,
        [
            Issue(
                code="business-rule",
                expression=(f"{where}.code",),
                diagnostics=(
                    "cannot tell which instrument this form is: give it the instrument's LOINC panel code as `code` "
                    f"or LOINC item codes on its items (instruments matched: {found})"
                ),
            )
        ],
    )


def _walk(items: Iterable[Any], path: str) -> Iterable[tuple[str, dict, str]]:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        here = f"{path}[{index}]"
        yield str(item.get("linkId") or ""), item, here
        yield from _walk(item.get("item") or [], f"{here}.item")


def _item_codes(item: dict) -> set[str]:
    codes = {
        str(coding.get("code"))
        for coding in item.get("code") or []
        if isinstance(coding, dict)
        and coding.get("code")
        and (coding.get("system") is None or is_loinc_system(coding.get("system")))
    }
    from_definition = loinc_code_in_definition(item.get("definition"))
    return codes | ({from_definition} if from_definition else set())


def _item_target(item: dict, definition: Questionnaire) -> tuple[str | None, bool]:
    codes = _item_codes(item)
    targets = {i.link_id for i in definition.items if i.code is not None and i.code.code in codes}
    total = definition.total_code is not None and definition.total_code.code in codes
    return (targets.pop() if len(targets) == 1 else None), total and not targets


def _known_value(item: Any, coding: dict) -> Decimal | None:
    system, code = coding.get("system"), coding.get("code")
    for option in item.options:
        for known in (option.code, *option.also_codes):
            if known is not None and known.code == code and (system is None or _same_system(system, known.system)):
                return Decimal(option.value)
    return None


def _weight(extensions: Any) -> Decimal | None:
    for extension in extensions or []:
        if isinstance(extension, dict) and extension.get("url") in ORDINAL_EXTENSIONS:
            raw = extension.get("valueDecimal", extension.get("valueInteger"))
            try:
                value = Decimal(str(raw)) if raw is not None and not isinstance(raw, bool) else None
            except InvalidOperation:
                value = None
            if value is not None and value.is_finite():
                return value.normalize() if value != value.to_integral_value() else Decimal(int(value))
    return None
