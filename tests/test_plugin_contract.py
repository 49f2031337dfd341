"""The contract test, run over every registered definition: adding a plugin adds its tests."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from plugins import BUILTIN_PLUGINS
from questionnaires.contract import Questionnaire
from questionnaires.definitions import definition_as_dict
from questionnaires.registry import definition_problems, get_registry
from questionnaires.scoring import band_for, score_answers
from questionnaires.text_packs import TextPacks
from questionnaires.validation import validate_answers

DEFINITIONS = get_registry().all()


def label(definition: Questionnaire) -> str:
    return f"{definition.id}@{definition.version}"


def test_no_built_in_plugin_failed_to_load():
    assert [problem for problem in get_registry().problems if problem.source in BUILTIN_PLUGINS] == []
    assert {definition.id for definition in DEFINITIONS} >= {
        "wai-sr", "wai-s", "srs", "ors", "haq-ii", "phq-9", "gad-7", "core-10",
    }


@pytest.mark.parametrize("definition", DEFINITIONS, ids=label)
class TestEveryDefinition:
    def test_its_metadata_is_complete(self, definition):
        assert definition.title.strip() and definition.reference.strip() and definition.license.strip()
        assert definition.respondent in ("client", "clinician")
        assert definition.items and all(item.label.strip() for item in definition.items)
        assert definition.scoring.description.strip(), "what `total` means is served to API clients"
        assert definition.examples, "each definition carries hand-computed examples"
        assert definition_problems(definition) == []

    def test_its_examples_validate_and_score_as_declared(self, definition):
        for example in definition.examples:
            answers, problems = validate_answers(definition, example.answers)
            assert problems == [], example.description
            score = score_answers(definition, answers)
            assert score.total == example.total, example.description
            assert score.band == example.band, example.description
            assert sorted(score.flags) == sorted(example.flags), example.description
            for name, expected in example.subscales.items():
                assert score.subscales[name] == expected, f"{example.description}: subscale {name}"
            for name, expected in example.extras.items():
                assert score.extras[name] == expected, f"{example.description}: extra {name}"

    def test_example_totals_and_bands_lie_in_the_declared_range(self, definition):
        scoring = definition.scoring
        for example in definition.examples:
            assert scoring.total_min <= example.total <= scoring.total_max, example.description
        if definition.bands:
            bands = sorted(definition.bands, key=lambda band: band.lower)
            assert bands[0].lower == scoring.total_min and bands[-1].upper == scoring.total_max
            assert all(below.upper == above.lower for below, above in zip(bands, bands[1:], strict=False))
            assert band_for(definition, scoring.total_min) == bands[0].name
            assert band_for(definition, scoring.total_max) == bands[-1].name

    def test_the_lowest_and_highest_answers_score_inside_the_range(self, definition):
        if definition.score is not None:
            pytest.skip("a custom score() declares its own range through its examples")
        for pick in (min, max):
            answers = {}
            for item in definition.items:
                if not item.scored:
                    continue
                reversed_ = item.link_id in definition.scoring.reverse
                wanted = max if (pick is min) == reversed_ else min
                answers[item.link_id] = wanted(option.value for option in item.options) if item.options else (
                    item.max if wanted is max else item.min
                )
            converted, problems = validate_answers(definition, answers)
            assert problems == []
            expected = definition.scoring.total_min if pick is min else definition.scoring.total_max
            assert score_answers(definition, converted).total == Decimal(expected)

    def test_it_serializes_to_json_in_every_language(self, definition):
        for language in (None, *definition.translations):
            served = definition_as_dict(definition, language=language)
            assert json.loads(json.dumps(served))["id"] == definition.id
            assert [item["linkId"] for item in served["items"]] == [item.link_id for item in definition.items]

    def test_item_text_is_served_only_where_the_licence_allows_it(self, definition):
        wording = {item.link_id: item.text for item in definition.items if item.text}
        for language in (None, *definition.translations):
            served = definition_as_dict(definition, language=language, text_packs=TextPacks())
            served_text = {item["linkId"]: item["text"] for item in served["items"] if "text" in item}
            if definition.text_allowed:
                assert set(served_text) == set(wording)
            else:
                assert served_text == {}
                assert not any(text in json.dumps(served, ensure_ascii=False) for text in wording.values())
