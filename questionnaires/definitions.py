"""A questionnaire definition as the REST API serves it, and the content hash that pins a version's meaning.

`definition_as_dict` applies the licence policy: item text appears only where the definition's
licence allows it (`text_allowed`) or an operator's text pack supplies it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from questionnaires.contract import Code, Item, Questionnaire, Translation
from questionnaires.text_packs import TextPacks, current_text_packs

DEFAULT_LANGUAGE = "en"
"""Plugins write their labels and text in English; other languages come from `translations`."""


def definition_as_dict(
    definition: Questionnaire, *, language: str | None = None, text_packs: TextPacks | None = None
) -> dict[str, Any]:
    """The JSON-ready definition in `language` (English when None or not offered).

    `text_packs` defaults to the packs the settings name; pass an empty `TextPacks()` to leave
    locally licensed text out (the version row's record does, since packs are per deployment).
    """
    packs = current_text_packs() if text_packs is None else text_packs
    languages = [
        DEFAULT_LANGUAGE,
        *sorted((set(definition.translations) | packs.languages_for(definition.id, definition.version))
                - {DEFAULT_LANGUAGE}),
    ]
    served_language = language if language in languages else DEFAULT_LANGUAGE
    translation = definition.translations.get(served_language) if served_language != DEFAULT_LANGUAGE else None
    pack_texts = packs.texts_for(definition.id, definition.version, served_language)
    default_pack_texts = (
        packs.texts_for(definition.id, definition.version, DEFAULT_LANGUAGE)
        if served_language != DEFAULT_LANGUAGE
        else pack_texts
    )
    scoring = definition.scoring
    scored_items = [item for item in definition.items if item.scored]
    return {
        "id": definition.id,
        "version": definition.version,
        "title": (translation.title if translation and translation.title else definition.title),
        "respondent": definition.respondent,
        "language": served_language,
        "languages": languages,
        "construct": definition.construct,
        "direction": definition.direction,
        "instructions": _instructions(definition, translation, pack_texts),
        "recallPeriod": (
            translation.recall_period if translation and translation.recall_period else definition.recall_period
        ),
        "items": [
            _item(item, definition, translation, pack_texts, default_pack_texts) for item in definition.items
        ],
        "scoring": {
            "method": scoring.method,
            "total": scoring.description,
            "range": {"min": _number(scoring.total_min), "max": _number(scoring.total_max)},
            "reverse": list(scoring.reverse),
            "missing": scoring.missing,
            "max_missing": scoring.max_missing if scoring.missing == "prorate" else 0,
            "decimals": scoring.decimals,
            "custom": definition.score is not None,
            "subscales": [
                {
                    "name": subscale.name,
                    "title": subscale.title,
                    "method": subscale.method,
                    "items": list(subscale.items),
                    "range": _range([definition.item(link_id) for link_id in subscale.items], subscale.method),
                }
                for subscale in definition.subscales
            ],
            "extras": [{"name": name, "range": _range(scored_items, name)} for name in scoring.extras],
        },
        "bands": [
            {"name": band.name, "label": band.label, "lower": _number(band.lower), "upper": _number(band.upper)}
            for band in definition.bands
        ],
        "band_cutoff_belongs_to": definition.band_cutoff_belongs_to,
        "alerts": [
            {
                "flag": rule.flag,
                "on": rule.on,
                "comparison": rule.comparison,
                "threshold": _number(rule.threshold),
                "items": list(rule.items),
                "priority": rule.priority,
                "description": rule.description,
                "raters": list(rule.raters),
            }
            for rule in definition.alert_rules
        ],
        "clinical_cutoff": (
            None
            if definition.clinical_cutoff is None
            else {"value": _number(definition.clinical_cutoff), "comparison": definition.clinical_cutoff_comparison}
        ),
        "reliable_change": None if definition.reliable_change is None else _number(definition.reliable_change),
        "reference": definition.reference,
        "license": definition.license,
        "copyright": definition.copyright,
        "text_allowed": definition.text_allowed,
        "codes": {"questionnaire": _code(definition.code), "total": _code(definition.total_code)},
        "dynamic_items": definition.dynamic_items,
        "rated_with": definition.rated_with,
    }


def _item(
    item: Item,
    definition: Questionnaire,
    translation: Translation | None,
    pack_texts: dict[str, str] | Any,
    default_pack_texts: dict[str, str] | Any,
) -> dict[str, Any]:
    label = translation.labels.get(item.link_id, item.label) if translation else item.label
    shaped: dict[str, Any] = {"linkId": item.link_id, "label": label}
    text = _text(item, definition, translation, pack_texts, default_pack_texts)
    if text:
        shaped["text"] = text
    shaped["type"] = item.type
    shaped["required"] = item.required
    shaped["scored"] = item.scored
    if item.type == "choice":
        shaped["options"] = [
            {
                "value": option.value,
                "label": translation.options.get(option.label, option.label) if translation else option.label,
                **({"code": _code(option.code)} if option.code else {}),
            }
            for option in item.options
        ]
    else:
        shaped["min"] = _number(item.min)
        shaped["max"] = _number(item.max)
        shaped["step"] = _number(item.step)
    if item.code:
        shaped["code"] = _code(item.code)
    return shaped


def _text(
    item: Item,
    definition: Questionnaire,
    translation: Translation | None,
    pack_texts: Any,
    default_pack_texts: Any,
) -> str | None:
    """Pack text first (the operator's licensed copy), then the plugin's own text where its licence allows.

    A language with no text of its own falls back to the English text rather than to none.
    """
    text = pack_texts.get(item.link_id)
    if text:
        return text
    if definition.text_allowed and translation and translation.texts.get(item.link_id):
        return translation.texts[item.link_id]
    text = default_pack_texts.get(item.link_id)
    if text:
        return text
    return item.text if definition.text_allowed else None


def _range(items: list[Item | None], method: str) -> dict[str, Any]:
    present = [item for item in items if item is not None and item.min_value is not None]
    if not present:
        return {"min": None, "max": None}
    low = sum((Decimal(str(item.min_value)) for item in present), Decimal(0))
    high = sum((Decimal(str(item.max_value)) for item in present), Decimal(0))
    if method == "mean":
        low, high = low / len(present), high / len(present)
    return {"min": _number(low), "max": _number(high)}


def _code(code: Code | None) -> dict[str, str] | None:
    if code is None:
        return None
    return {"system": code.system, "code": code.code, **({"display": code.display} if code.display else {})}


def _number(value: Any) -> int | float | None:
    """A Decimal as JSON: an int when whole (36, not 36.0), else a float (0.1)."""
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _instructions(definition: Questionnaire, translation, pack_texts: Mapping[str, str]) -> str:
    """The stem where the licence allows its text, else a local text pack's, else nothing."""
    if definition.text_allowed:
        return translation.instructions if translation and translation.instructions else definition.instructions
    return pack_texts.get("instructions", "")


def content_hash(definition: Questionnaire) -> str:
    """The SHA-256 of everything that gives a version's scores and answers their meaning.

    Covered: the id, version and respondent; each item's linkId, type, required/scored flags,
    option values and codes, min/max/step and code; the whole scoring spec; subscales; bands and
    the cut-off convention; alert rules; construct, direction, clinical cut-off and reliable
    change; the panel and total codes; and, for a custom `score()`, its qualified name (its body
    cannot be compared reliably, so its author bumps the version when it changes).
    Not covered: human-readable wording (title, labels, item and option text, translations,
    descriptions, reference, licence, copyright), so fixing a typo needs no new version;
    `examples`, which are checked against the scoring at every load and so cannot disagree with it;
    `rated_with`, which pairs instruments for comparison without changing what a total means; and an
    option's `also_codes`, other input codes for the same stored value, which change no stored answer.
    Numbers are normalised, so Decimal("5") and Decimal("5.0") hash alike.
    """
    return hashlib.sha256(_canonical_json(_hashed_content(definition)).encode()).hexdigest()


def _hashed_content(definition: Questionnaire) -> dict[str, Any]:
    scoring = definition.scoring
    custom = definition.score
    content = {
        "id": definition.id,
        "version": definition.version,
        "respondent": definition.respondent,
        "items": [
            {
                "linkId": item.link_id,
                "type": item.type,
                "required": item.required,
                "scored": item.scored,
                "options": [[option.value, _hashed_code(option.code)] for option in item.options],
                "min": _canonical_number(item.min),
                "max": _canonical_number(item.max),
                "step": _canonical_number(item.step),
                "code": _hashed_code(item.code),
            }
            for item in definition.items
        ],
        "scoring": {
            "method": scoring.method,
            "reverse": sorted(scoring.reverse),
            "missing": scoring.missing,
            "max_missing": scoring.max_missing,
            "decimals": scoring.decimals,
            "extras": list(scoring.extras),
            "total_min": _canonical_number(scoring.total_min),
            "total_max": _canonical_number(scoring.total_max),
        },
        "subscales": [[subscale.name, list(subscale.items), subscale.method] for subscale in definition.subscales],
        "bands": [
            [band.name, _canonical_number(band.lower), _canonical_number(band.upper)] for band in definition.bands
        ],
        "band_cutoff_belongs_to": definition.band_cutoff_belongs_to,
        "alert_rules": [
            [rule.flag, rule.on, rule.comparison, _canonical_number(rule.threshold), list(rule.items), rule.priority]
            for rule in definition.alert_rules
        ],
        "construct": definition.construct,
        "direction": definition.direction,
        "reliable_change": _canonical_number(definition.reliable_change),
        "clinical_cutoff": [_canonical_number(definition.clinical_cutoff), definition.clinical_cutoff_comparison],
        "codes": [_hashed_code(definition.code), _hashed_code(definition.total_code)],
        "score": None if custom is None else f"{custom.__module__}.{getattr(custom, '__qualname__', repr(custom))}",
    }
    if definition.dynamic_items is not None:  # only when set, so existing versions keep their hash
        content["dynamic_items"] = definition.dynamic_items
    return content


def _hashed_code(code: Code | None) -> list[str] | None:
    return None if code is None else [code.system, code.code]


def _canonical_number(value: Any) -> str | None:
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return format(number.normalize(), "f")


def _canonical_json(content: Any) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
