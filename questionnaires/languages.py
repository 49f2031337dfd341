"""Which languages a questionnaire is offered in, and which one a caller's Accept-Language picks.

A language is offered when the plugin carries a translation for it, or when an operator's text
pack supplies item text in it (a deployment can add a language locally; labels then stay in English).
The REST API, the client form page and the FHIR export all choose through `language_from_header`.
"""

from __future__ import annotations

from django.utils.translation.trans_real import parse_accept_lang_header

from questionnaires.contract import Questionnaire
from questionnaires.text_packs import TextPacks, current_text_packs

DEFAULT_LANGUAGE = "en"
HEADER_MAX_LENGTH = 500


def offered_languages(definition: Questionnaire, *, text_packs: TextPacks | None = None) -> list[str]:
    """English first, then every translated or text-pack language, sorted."""
    packs = current_text_packs() if text_packs is None else text_packs
    extra = set(definition.translations) | set(packs.languages_for(definition.id, definition.version))
    extra.discard(DEFAULT_LANGUAGE)
    return [DEFAULT_LANGUAGE, *sorted(extra)]


def language_from_header(header: str | None, definition: Questionnaire) -> str | None:
    """The first offered language in an Accept-Language header (by quality), matching `de-CH` to `de`."""
    if not header or len(header) > HEADER_MAX_LENGTH:
        return None
    offered = {code.lower(): code for code in offered_languages(definition)}
    for tag, _quality in parse_accept_lang_header(header):
        tag = tag.lower()
        if tag in offered:
            return offered[tag]
        base = tag.split("-")[0]
        if base in offered:
            return offered[base]
    return None
