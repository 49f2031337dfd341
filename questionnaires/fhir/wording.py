"""Comparing a response item's text with the wordings of the instrument's items.

An item's identity comes from its linkId, code or definition; its text is a cross-check. A text that
is one of the item's known wordings (plugin text, served text, label, LOINC display, translation),
or a shortened or lengthened form of one, agrees. A text closer to another item's wording than to
this item's names a *different question*: that answer would be scored as the wrong item, so it is
refused. Any other text (LOINC's own wording, a changed tense or punctuation, an unknown translation)
is only reported as a warning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from questionnaires.contract import Questionnaire
from questionnaires.fhir.questionnaire import served_texts

OTHER_QUESTION_SIMILARITY = 0.6
"""Word-sequence similarity (0-1) from which a text is taken as naming another item. Items of one
instrument share few words (PHQ-9 items 2 and 4: 0.36), a rewording of the same item many (0.67 for
LOINC's "Over the past 2 weeks have you not been able to stop or control worrying" against GAD-7 item 2)."""


@dataclass(frozen=True)
class Verdict:
    """`agrees`: a known wording; otherwise `other_item` names the item the text is closer to, if any."""

    agrees: bool
    other_item: str | None = None


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


class Wordings:
    """Every wording the project knows for each item of one definition, normalised.

    Items whose wording the project does not know (licensed text it may not hold) accept any text.
    """

    def __init__(self, definition: Questionnaire) -> None:
        served = served_texts(definition)
        self.by_item: dict[str, set[str]] = {}
        for item in definition.items:
            wordings = {item.text, served.get(item.link_id)}
            if not any(wordings):
                continue
            wordings |= {item.label, item.code.display if item.code else None}
            for translation in definition.translations.values():
                wordings |= {translation.labels.get(item.link_id), translation.texts.get(item.link_id)}
            self.by_item[item.link_id] = {normalise(w) for w in wordings if w and normalise(w)}

    def judge(self, text: str, link_id: str) -> Verdict:
        accepted = self.by_item.get(link_id)
        given = normalise(text)
        if not accepted or not given:
            return Verdict(agrees=True)
        if any(given == known or (len(given) >= 12 and (given in known or known in given)) for known in accepted):
            return Verdict(agrees=True)
        own = _best(given, accepted)
        others = {other: _best(given, known) for other, known in self.by_item.items() if other != link_id}
        closest = max(others, key=lambda other: others[other], default=None)
        if closest is not None and others[closest] >= OTHER_QUESTION_SIMILARITY and others[closest] > own:
            return Verdict(agrees=False, other_item=closest)
        return Verdict(agrees=False)


MAX_COMPARED_WORDS = 80
"""Item texts run to a few dozen words; comparing more only costs time (a hostile text could be megabytes)."""


def _best(given: str, known: set[str]) -> float:
    words = given.split()[:MAX_COMPARED_WORDS]
    return max(
        (SequenceMatcher(None, words, wording.split(), autojunk=False).ratio() for wording in known), default=0.0
    )
