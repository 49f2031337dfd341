"""Licensed item text supplied by the operator as local JSON files (the `QUESTIONNAIRE_TEXT_PACKS` setting).

A text pack lets a deployment that holds a licence serve an instrument's published wording,
which the plugin itself must not ship. The setting lists JSON file paths; each file maps

    {
      "<questionnaire id>": {
        "<version, or * for every version>": {
          "<language, e.g. en>": {"<linkId>": "<item text>", ...}
        }
      }
    }

for example `{"wai-sr": {"*": {"en": {"1": "...", "2": "..."}}}}`. A top-level key starting with
`_` (such as `"_comment"`) is ignored. Lookup prefers the exact version over `*`; later files
override earlier ones entry by entry. A file that cannot be read or has the wrong shape is left
out as a whole and reported like a failed plugin (stage "text-pack"), so a typo never serves
half a pack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings

ANY_VERSION = "*"


@dataclass(frozen=True)
class TextPackProblem:
    path: str
    message: str


@dataclass
class TextPacks:
    """Merged item texts: (questionnaire id, version or *, language) -> {linkId: text}."""

    texts: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    problems: list[TextPackProblem] = field(default_factory=list)

    def texts_for(self, questionnaire_id: str, version: str, language: str) -> Mapping[str, str]:
        """The item texts for one language of one version (exact version first, then `*`)."""
        general = self.texts.get((questionnaire_id, ANY_VERSION, language))
        exact = self.texts.get((questionnaire_id, version, language))
        if general and exact:
            return {**general, **exact}
        return exact or general or {}

    def languages_for(self, questionnaire_id: str, version: str) -> set[str]:
        """The languages some pack gives item text in for this version (or every version)."""
        return {
            language
            for (pack_id, pack_version, language), texts in self.texts.items()
            if pack_id == questionnaire_id and pack_version in (version, ANY_VERSION) and texts
        }


def load_text_packs(paths: Iterable[str]) -> TextPacks:
    """Read and merge the packs at `paths`; never raises, a bad file becomes a problem."""
    packs = TextPacks()
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            entries = _entries(data)
        except (OSError, ValueError) as error:
            packs.problems.append(TextPackProblem(path=str(path), message=str(error)))
            continue
        for key, texts in entries.items():
            packs.texts.setdefault(key, {}).update(texts)
    return packs


def _entries(data: object) -> dict[tuple[str, str, str], dict[str, str]]:
    """The pack's texts keyed for lookup, or ValueError naming where the shape is wrong."""
    if not isinstance(data, dict):
        raise ValueError("a text pack must be a JSON object keyed by questionnaire id")
    entries: dict[tuple[str, str, str], dict[str, str]] = {}
    for questionnaire_id, versions in data.items():
        if questionnaire_id.startswith("_"):
            continue
        if not isinstance(versions, dict):
            raise ValueError(f"{questionnaire_id}: expected an object keyed by version or '*'")
        for version, languages in versions.items():
            if not isinstance(languages, dict):
                raise ValueError(f"{questionnaire_id} {version}: expected an object keyed by language")
            for language, texts in languages.items():
                where = f"{questionnaire_id} {version} {language}"
                if not isinstance(texts, dict) or not all(isinstance(text, str) for text in texts.values()):
                    raise ValueError(f"{where}: expected an object mapping linkIds to text strings")
                entries[(questionnaire_id, version, language)] = dict(texts)
    return entries


_cache: dict[tuple[str, ...], TextPacks] = {}


def current_text_packs() -> TextPacks:
    """The packs named by the setting, read once per process (and again if the setting changes)."""
    paths = tuple(str(path) for path in getattr(settings, "QUESTIONNAIRE_TEXT_PACKS", ()) or ())
    packs = _cache.get(paths)
    if packs is None:
        _cache.clear()
        packs = _cache[paths] = load_text_packs(paths)
    return packs


def reset_text_packs() -> None:
    """Forget the packs read so far, e.g. after a pack file was edited."""
    _cache.clear()
