"""definition_as_dict (the served JSON, under the licence policy and text packs) and content_hash."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from questionnaires.contract import LOINC, AnswerOption, Code, Item, Translation
from questionnaires.definitions import content_hash, definition_as_dict
from questionnaires.text_packs import TextPacks, load_text_packs
from tests.broken_plugins.good import make_definition


def with_text(*, allowed: bool):
    definition = make_definition()
    items = tuple(replace(item, text=f"Published wording {item.link_id}") for item in definition.items)
    return replace(
        definition,
        items=items,
        text_allowed=allowed,
        translations={"de": Translation(title="Kleiner Test", labels={"1": "Frage 1"}, texts={"1": "Wortlaut 1"},
                                        options={"never": "nie"})},
    )


@pytest.fixture
def pack_file(tmp_path, settings):
    def write(content) -> str:
        path = tmp_path / f"pack-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(content) if not isinstance(content, str) else content, encoding="utf-8")
        return str(path)

    settings.QUESTIONNAIRE_TEXT_PACKS = []
    return write


def test_it_serves_the_fields_the_api_promises():
    served = definition_as_dict(make_definition(), text_packs=TextPacks())
    assert {"id", "version", "title", "respondent", "items", "scoring", "bands", "alerts", "reference", "license",
            "copyright", "codes", "languages"} <= set(served)
    assert served["items"][0] == {
        "linkId": "1",
        "label": "Item 1",
        "type": "choice",
        "required": True,
        "scored": True,
        "options": [{"value": 0, "label": "never"}, {"value": 1, "label": "sometimes"},
                    {"value": 2, "label": "often"}, {"value": 3, "label": "always"}],
    }
    assert served["scoring"]["range"] == {"min": 0, "max": 9}
    assert served["scoring"]["reverse"] == ["3"]
    assert served["scoring"]["subscales"] == [
        {"name": "first-two", "title": "", "method": "sum", "items": ["1", "2"], "range": {"min": 0, "max": 6}}
    ]
    assert served["bands"] == [{"name": "low", "label": "", "lower": 0, "upper": 5},
                               {"name": "high", "label": "", "lower": 5, "upper": 9}]
    assert served["alerts"][0]["flag"] == "item-one" and served["alerts"][0]["threshold"] == 2
    json.dumps(served)  # plain JSON types only


def test_decimal_items_serve_min_max_and_step_and_codes_appear_where_declared():
    definition = make_definition(
        items=(
            Item("a", "A", type="decimal", min=Decimal(0), max=Decimal("10.0"), step=Decimal("0.1")),
            Item("b", "B", options=(AnswerOption(0, "no", Code(LOINC, "LA32-8")),), code=Code(LOINC, "1-8", "B")),
        ),
        code=Code(LOINC, "100-1"),
    )
    served = definition_as_dict(definition, text_packs=TextPacks())
    assert served["items"][0] == {"linkId": "a", "label": "A", "type": "decimal", "required": True,
                                       "scored": True, "min": 0, "max": 10, "step": 0.1}
    assert served["items"][1]["options"] == [{"value": 0, "label": "no", "code": {"system": LOINC, "code": "LA32-8"}}]
    assert served["items"][1]["code"] == {"system": LOINC, "code": "1-8", "display": "B"}
    assert served["codes"] == {"questionnaire": {"system": LOINC, "code": "100-1"}, "total": None}


def test_no_item_text_is_served_when_the_licence_forbids_it():
    served = definition_as_dict(with_text(allowed=False), text_packs=TextPacks())
    assert all("text" not in item for item in served["items"])
    german = definition_as_dict(with_text(allowed=False), language="de", text_packs=TextPacks())
    assert all("text" not in item for item in german["items"])
    assert "Published wording" not in json.dumps(served) + json.dumps(german)
    assert "Wortlaut" not in json.dumps(german)


def test_item_text_is_served_where_the_licence_allows_it():
    served = definition_as_dict(with_text(allowed=True), text_packs=TextPacks())
    assert [item["text"] for item in served["items"]] == [f"Published wording {n}" for n in "123"]


def test_a_translation_supplies_title_labels_options_and_allowed_text_with_english_fallback():
    served = definition_as_dict(with_text(allowed=True), language="de", text_packs=TextPacks())
    assert served["language"] == "de" and served["languages"] == ["en", "de"]
    assert served["title"] == "Kleiner Test"
    assert [item["label"] for item in served["items"]] == ["Frage 1", "Item 2", "Item 3 (reversed)"]
    assert [item["text"] for item in served["items"]] == ["Wortlaut 1", "Published wording 2", "Published wording 3"]
    assert served["items"][0]["options"][0]["label"] == "nie"


def test_an_unknown_language_falls_back_to_english():
    served = definition_as_dict(with_text(allowed=True), language="xx", text_packs=TextPacks())
    assert served["language"] == "en" and served["title"] == "Tiny check"


def test_a_text_pack_supplies_licensed_text_for_its_deployment(pack_file, settings):
    settings.QUESTIONNAIRE_TEXT_PACKS = [
        pack_file({"_comment": "licensed copy", "tiny-check": {"*": {"en": {"1": "Licensed one", "2": "Licensed two"}},
                                                               "1.0.0": {"en": {"2": "Exact two"}}}})
    ]
    served = definition_as_dict(with_text(allowed=False))
    assert [item.get("text") for item in served["items"]] == ["Licensed one", "Exact two", None]


def test_a_text_pack_version_entry_only_applies_to_that_version(pack_file, settings):
    settings.QUESTIONNAIRE_TEXT_PACKS = [pack_file({"tiny-check": {"2.0.0": {"en": {"1": "Only for 2.0.0"}}}})]
    served = definition_as_dict(with_text(allowed=False))
    assert all("text" not in item for item in served["items"])


def test_later_text_packs_override_earlier_ones(pack_file, settings):
    first = pack_file({"tiny-check": {"*": {"en": {"1": "first", "2": "first"}}}})
    second = pack_file({"tiny-check": {"*": {"en": {"2": "second"}}}})
    settings.QUESTIONNAIRE_TEXT_PACKS = [first, second]
    served = definition_as_dict(with_text(allowed=False))
    assert [item.get("text") for item in served["items"]][:2] == ["first", "second"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "Expecting property name"),
        ([1, 2], "keyed by questionnaire id"),
        ({"tiny-check": {"*": {"en": {"1": 5}}}}, "tiny-check * en: expected an object mapping linkIds"),
        ({"tiny-check": ["x"]}, "tiny-check: expected an object keyed by version"),
    ],
)
def test_a_text_pack_with_the_wrong_shape_is_reported_and_not_used(pack_file, content, message):
    path = pack_file(content)
    packs = load_text_packs([path])
    assert packs.texts == {}
    assert len(packs.problems) == 1 and packs.problems[0].path == path and message in packs.problems[0].message


def test_a_missing_text_pack_file_is_reported(tmp_path):
    packs = load_text_packs([str(tmp_path / "absent.json")])
    assert packs.problems and "absent.json" in packs.problems[0].message


def test_the_content_hash_is_stable_and_ignores_wording():
    definition = make_definition()
    assert content_hash(definition) == content_hash(make_definition())
    assert len(content_hash(definition)) == 64
    reworded = make_definition(
        title="Renamed",
        items=tuple(replace(item, label="x", text="y") for item in definition.items),
        reference="Another citation",
        examples=(),
    )
    assert content_hash(reworded) == content_hash(definition)
    assert content_hash(make_definition(scoring=replace(definition.scoring, total_max=Decimal("9.0")))) == content_hash(
        definition
    ), "5 and 5.0 are the same number"


def score_stub(definition, answers):
    raise NotImplementedError


@pytest.mark.parametrize(
    "change",
    [
        {"scoring": replace(make_definition().scoring, reverse=())},
        {"scoring": replace(make_definition().scoring, missing="prorate", max_missing=1)},
        {"bands": (make_definition().bands[0], replace(make_definition().bands[1], name="raised"))},
        {"band_cutoff_belongs_to": "lower"},
        {"alert_rules": ()},
        {"subscales": ()},
        {"items": make_definition().items[:2] + (replace(make_definition().items[2], required=False),)},
        {"items": make_definition().items[:2] + (replace(make_definition().items[2], options=()),)},
        {"code": Code(LOINC, "1-1")},
        {"score": score_stub},
        {"version": "1.0.1"},
    ],
)
def test_the_content_hash_changes_with_anything_that_changes_scores(change):
    assert content_hash(make_definition(**change)) != content_hash(make_definition())
