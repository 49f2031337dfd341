"""Per-instrument tests of the built-in plugins; shared checks every instrument's module runs."""

from __future__ import annotations

from decimal import Decimal

from questionnaires.contract import Questionnaire
from questionnaires.scoring import score_answers


def assert_examples_score_as_declared(definition: Questionnaire) -> None:
    assert definition.examples, f"{definition.id} declares no examples"
    for example in definition.examples:
        score = score_answers(definition, example.answers)
        assert score.total == example.total, example.description
        assert score.band == example.band, example.description
        assert score.flags == example.flags, example.description
        for name, value in example.subscales.items():
            assert score.subscales[name] == value, example.description
        for name, value in example.extras.items():
            assert score.extras[name] == value, example.description


def assert_bands_span_the_range(definition: Questionnaire) -> None:
    bands = sorted(definition.bands, key=lambda band: band.lower)
    assert bands[0].lower == definition.scoring.total_min
    assert bands[-1].upper == definition.scoring.total_max
    for below, above in zip(bands, bands[1:], strict=False):
        assert below.upper == above.lower, (below.name, above.name)
    assert all(band.label for band in bands)


def answers(*values) -> dict[str, object]:
    """Answers in form order, linkIds "1", "2", …; None leaves that item out."""
    return {str(number): value for number, value in enumerate(values, start=1) if value is not None}


def vas(*values: str) -> dict[str, Decimal]:
    return {str(number): Decimal(value) for number, value in enumerate(values, start=1)}
