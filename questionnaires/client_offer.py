"""Whether a questionnaire may be offered on the client form page, and if not, why (shown in the admin).

A client answers the words of an instrument, not its short labels: "Item 1 (task) … Seldom/Always"
cannot be answered. So a client-rated instrument is offered only when its item text can be served:
the licence allows it (`text_allowed`), a local text pack supplies every item's text in English,
or its items are the client's own (GBO: the goals they set).
"""

from __future__ import annotations

from questionnaires.contract import Questionnaire
from questionnaires.languages import DEFAULT_LANGUAGE
from questionnaires.text_packs import TextPacks, current_text_packs


def not_offered_because(definition: Questionnaire, packs: TextPacks | None = None) -> str:
    """Empty when the client form page may offer it; else the reason, in words for the clinic."""
    if definition.respondent != "client":
        return "Rated by the clinician, not the client."
    if definition.text_allowed or definition.dynamic_items is not None:
        return ""
    packs = current_text_packs() if packs is None else packs
    texts = packs.texts_for(definition.id, definition.version, DEFAULT_LANGUAGE)
    missing = [item.link_id for item in definition.items if not texts.get(item.link_id)]
    if not missing:
        return ""
    return (
        "Its licence does not let the project serve the item text, and no text pack supplies it "
        f"(items without text: {', '.join(missing)}). Add a licensed text pack (QUESTIONNAIRE_TEXT_PACKS) "
        "to offer it to clients."
    )
