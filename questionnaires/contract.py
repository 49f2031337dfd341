"""The frozen types a questionnaire plugin builds; the only module a plugin imports.

A plugin is data plus at most one pure function: a tuple of `Questionnaire`
definitions (one per version), listed in its module-level `QUESTIONNAIRES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

CONTRACT_VERSION = 1
"""Bumped when a change to these types breaks existing plugins."""

Number = int | Decimal
ItemType = Literal["choice", "integer", "decimal"]
Respondent = Literal["client", "clinician"]
Construct = Literal["alliance", "outcome", "symptom", "goals"]
Direction = Literal["higher_is_better", "lower_is_better"]
Comparison = Literal["<", "<=", ">", ">="]
DynamicItems = Literal["client_goals"]


@dataclass(frozen=True)
class Code:
    """A coded concept, e.g. a LOINC item or answer code."""

    system: str
    code: str
    display: str = ""


LOINC = "http://loinc.org"


@dataclass(frozen=True)
class AnswerOption:
    """One choice on an ordinal scale; `value` is the raw ordinal that is scored.

    `code` is the answer code served for the option; `also_codes` are other codes that mean the same
    scale point in published forms of the instrument (e.g. a LOINC form whose answer list words a
    point differently). They are accepted on input, never served.
    """

    value: int
    label: str
    code: Code | None = None
    also_codes: tuple[Code, ...] = ()


@dataclass(frozen=True)
class Item:
    """One question.

    `label` is a short name the project may always serve (e.g. "Item 4 (goal)");
    `text` is the published wording, served only where the licence allows it.
    Choice items carry `options`; integer and decimal items carry min/max/step
    (a visual-analogue scale is a decimal item 0.0-10.0, step 0.1).
    """

    link_id: str
    label: str
    type: ItemType = "choice"
    text: str | None = None
    required: bool = True
    options: tuple[AnswerOption, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    step: Decimal | None = None
    code: Code | None = None
    scored: bool = True
    """False for items collected but not part of any score (PHQ-9's difficulty item)."""

    @property
    def min_value(self) -> Number:
        return min(o.value for o in self.options) if self.options else self.min  # type: ignore[return-value]

    @property
    def max_value(self) -> Number:
        return max(o.value for o in self.options) if self.options else self.max  # type: ignore[return-value]


@dataclass(frozen=True)
class Subscale:
    name: str
    items: tuple[str, ...]
    title: str = ""
    method: Literal["sum", "mean"] = "sum"


@dataclass(frozen=True)
class Band:
    """An interpretation band from `lower` to `upper` on the total.

    Which band a cut-off value itself belongs to is the questionnaire's
    `band_cutoff_belongs_to` setting.
    """

    name: str
    lower: Decimal
    upper: Decimal
    label: str = ""


@dataclass(frozen=True)
class AlertRule:
    """A flag raised from one score alone.

    `on` says what is compared with `threshold`: the `total`, any of `items`
    (every scored item when empty), or a subscale named in `items[0]`.
    History-based alerts (rupture, reliable change) are declared through the
    questionnaire's `construct`, `direction` and `reliable_change` instead.
    """

    flag: str
    on: Literal["total", "any_item", "subscale"]
    comparison: Comparison
    threshold: Decimal
    items: tuple[str, ...] = ()
    priority: Literal["low", "normal", "high"] = "normal"
    description: str = ""
    raters: tuple[Literal["client", "clinician"], ...] = ("client", "clinician")
    """Whose ratings raise it: a client-facing alliance rule ("talk about the alliance") names
    `("client",)`, so the clinician's own rating feeds only the rater gap."""


@dataclass(frozen=True)
class Scoring:
    """How the declarative engine turns answers into `total`.

    `method` sums or averages the scored items after reversing `reverse`
    (scored = min + max - raw). `missing` is `reject` (every scored item
    required) or `prorate` (up to `max_missing` items may be absent; the
    total becomes n_items * sum / n_answered). `decimals` rounds the total
    (and the extra `mean`/`sum`) half-up; None keeps it exact.
    """

    method: Literal["sum", "mean"] = "sum"
    reverse: tuple[str, ...] = ()
    missing: Literal["reject", "prorate"] = "reject"
    max_missing: int = 0
    decimals: int | None = None
    extras: tuple[Literal["mean", "sum"], ...] = ()
    total_min: Decimal = Decimal(0)
    total_max: Decimal = Decimal(0)
    description: str = ""


@dataclass(frozen=True)
class Score:
    total: Decimal
    subscales: Mapping[str, Decimal] = field(default_factory=dict)
    band: str | None = None
    flags: tuple[str, ...] = ()
    extras: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    """A hand-computed case: these raw answers must score exactly so."""

    description: str
    answers: Mapping[str, Number]
    total: Decimal
    band: str | None = None
    flags: tuple[str, ...] = ()
    subscales: Mapping[str, Decimal] = field(default_factory=dict)
    extras: Mapping[str, Decimal] = field(default_factory=dict)


class ScoringError(Exception):
    """Answers that cannot be scored; `problems` maps a linkId (or "answers") to why."""

    def __init__(self, message: str, problems: Mapping[str, str] | None = None):
        super().__init__(message)
        self.problems = dict(problems or {})


@dataclass(frozen=True)
class Translation:
    """Labels (and text, where the licence allows) in another language."""

    title: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)
    instructions: str = ""
    """The stem in this language; served only where the licence allows the text."""
    recall_period: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    """Option label by its English label."""


@dataclass(frozen=True)
class NormCurve:
    """A published expected-change curve for one intake-severity band (see the README, "Not on track").

    Expected improvement from intake at session s (s >= 2) is `intercept + slope * ln(s)` in total
    points, improvement counted in the instrument's better direction; a client whose improvement falls
    more than `tolerance` below it is not on track. `band` is one of the instrument's band names (the
    band of the intake score). Only a published curve belongs here, with its coefficients and sample
    size as the `reference` states them: a clinic without enough finished episodes of its own gets this
    curve, and without one no curve at all (never an invented norm).
    """

    band: str
    intercept: Decimal
    slope: Decimal
    tolerance: Decimal
    n_episodes: int
    reference: str
    max_session: int = 20
    """The last session number the published curve covers; no flag beyond it."""


@dataclass(frozen=True)
class Questionnaire:
    """One version of one instrument."""

    id: str
    version: str
    title: str
    respondent: Respondent
    items: tuple[Item, ...]
    scoring: Scoring
    reference: str
    license: str
    text_allowed: bool = False
    subscales: tuple[Subscale, ...] = ()
    bands: tuple[Band, ...] = ()
    band_cutoff_belongs_to: Literal["upper", "lower"] = "upper"
    """"upper": a total equal to a cut-off falls in the higher band (`<` below it)."""
    alert_rules: tuple[AlertRule, ...] = ()
    construct: Construct = "outcome"
    direction: Direction = "higher_is_better"
    reliable_change: Decimal | None = None
    """A published fixed reliable-change value in total points (ORS 5, CORE-10 6)."""
    clinical_cutoff: Decimal | None = None
    """Totals on the worse side of this are in the clinical range."""
    clinical_cutoff_comparison: Comparison = "<"
    code: Code | None = None
    """The panel code (LOINC where one exists)."""
    total_code: Code | None = None
    copyright: str = ""
    examples: tuple[Example, ...] = ()
    translations: Mapping[str, Translation] = field(default_factory=dict)
    score: Callable[[Questionnaire, Mapping[str, Number]], Score] | None = None
    """A custom pure scoring function; None uses the declarative engine."""
    requires_contract: int = CONTRACT_VERSION
    dynamic_items: DynamicItems | None = None
    """"client_goals": at submission the items are one per active goal of the client (linkId = goal id),
    shaped like the first declared item; the declared items are the fixed set the examples score."""
    instructions: str = ""
    """The stem or instructions shown before the items (PHQ-9: "Over the last 2 weeks, how often have
    you been bothered by any of the following problems?"). Published wording: served only where
    `text_allowed`, else only when a text pack supplies it (key `instructions`)."""
    recall_period: str = ""
    """The time frame the answers are about ("the last 2 weeks", "today's session"); not licensed
    text, always served, so a client knows what to think of."""
    rated_with: str | None = None
    """The id of the questionnaire that rates the same alliance from the other side (e.g. a therapist
    form); client and clinician ratings of one session on the pair are compared like ratings on the
    same instrument. Either side may declare it; both totals must span the same range."""
    norm_curves: tuple[NormCurve, ...] = ()
    """Published expected-change curves per intake band, used where the clinic has too few finished
    episodes of its own; none of the built-ins ships one."""

    def item(self, link_id: str) -> Item | None:
        for item in self.items:
            if item.link_id == link_id:
                return item
        return None

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)
