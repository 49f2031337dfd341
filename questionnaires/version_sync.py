"""Syncing loaded questionnaire definitions to immutable QuestionnaireVersion rows.

The registry's own write, so it lives beside the registry (which calls it on post_migrate and on
first use), below the services that read those rows.

A row, once written, is never changed: a definition whose content hash differs from the row of
its (id, version) is a conflict for the registry to leave out, since old responses keep the
meaning of the version that scored them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS

from questionnaires.contract import Questionnaire
from questionnaires.definitions import content_hash, definition_as_dict
from questionnaires.models import QuestionnaireVersion
from questionnaires.text_packs import TextPacks

Key = tuple[str, str]


@dataclass(frozen=True)
class VersionConflict:
    definition: Questionnaire
    stored_hash: str
    loaded_hash: str

    @property
    def message(self) -> str:
        return (
            f"{self.definition.id} {self.definition.version} differs from the definition stored for that version "
            f"(content hash {self.loaded_hash[:12]}, stored {self.stored_hash[:12]}); "
            "a changed definition needs a new version number"
        )


@dataclass
class VersionSync:
    rows: dict[Key, QuestionnaireVersion] = field(default_factory=dict)
    """The verified rows: each matches its loaded definition's content hash."""
    created: set[Key] = field(default_factory=set)
    conflicts: list[VersionConflict] = field(default_factory=list)


def questionnaire_versions_sync(
    *, definitions: Iterable[Questionnaire], sources: Mapping[Key, str], using: str = DEFAULT_DB_ALIAS
) -> VersionSync:
    """Create a row for each definition that has none and verify the others, in two or three queries.

    Concurrent processes may race to create the same rows; the unique constraint decides and
    the loser reads the winner's row back, so the result is the same either way.
    """
    definitions = list(definitions)
    result = VersionSync()
    if not definitions:
        return result
    hashes = {definition.key: content_hash(definition) for definition in definitions}
    manager = QuestionnaireVersion.objects.using(using)
    ids = {definition.id for definition in definitions}
    stored = {(row.questionnaire_id, row.version): row for row in manager.filter(questionnaire_id__in=ids)}
    missing = [definition for definition in definitions if definition.key not in stored]
    if missing:
        manager.bulk_create(
            [
                QuestionnaireVersion(
                    questionnaire_id=definition.id,
                    version=definition.version,
                    title=definition.title[:200],
                    content_hash=hashes[definition.key],
                    definition=definition_as_dict(definition, text_packs=TextPacks()),
                    plugin_source=sources.get(definition.key, "")[:200],
                )
                for definition in missing
            ],
            ignore_conflicts=True,
        )
        missing_ids = {definition.id for definition in missing}
        for row in manager.filter(questionnaire_id__in=missing_ids):
            key = (row.questionnaire_id, row.version)
            if key not in stored:
                stored[key] = row
                result.created.add(key)
    for definition in definitions:
        row = stored[definition.key]
        if row.content_hash == hashes[definition.key]:
            result.rows[definition.key] = row
        else:
            result.conflicts.append(
                VersionConflict(definition=definition, stored_hash=row.content_hash, loaded_hash=hashes[definition.key])
            )
    return result
