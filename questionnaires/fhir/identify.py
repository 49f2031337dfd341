"""Which instrument item a response item is, from what the resource itself says.

Read, in this order of evidence: the sender's form (contained or registered: its linkId's LOINC `code`);
the product's own linkId (under the product's or a LOINC canonical, never under a sender's form,
whose linkIds are its own); a LOINC item code as linkId, also as the last segment of a path
(`/44249-1/44250-9`); and `item.definition` naming a LOINC code or a linkId of the product's or the
sender's form. Every clue must name the same item: two that disagree make the item ambiguous, and
it is refused rather than scored as either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from questionnaires.contract import Questionnaire
from questionnaires.fhir.codes import loinc_code_in_definition, looks_like_loinc_code, own_canonical_bases
from questionnaires.fhir.foreign import ForeignForm, ForeignItem

TOTAL = "#total"
"""The target of an item that is the sender's computed total of the instrument."""


@dataclass
class Identity:
    """Targets (plugin linkIds, TOTAL, or `?<code>` for a LOINC code the instrument lacks) with the clue for each."""

    clues: dict[str, list[str]] = field(default_factory=dict)
    by_code: bool = False
    form_item: ForeignItem | None = None

    def add(self, target: str, clue: str, *, coded: bool) -> None:
        self.clues.setdefault(target, []).append(clue)
        self.by_code = self.by_code or coded

    @property
    def target(self) -> str | None:
        return next(iter(self.clues)) if len(self.clues) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.clues) > 1


def identify(
    link_id: str, definition_uri: str | None, *, definition: Questionnaire, form: ForeignForm | None
) -> Identity:
    identity = Identity()
    link_id = link_id.strip()
    if form is not None:
        form_item = form.items.get(link_id)
        if form_item is not None:
            identity.form_item = form_item
            if form_item.total:
                identity.add(TOTAL, f"the form's item {link_id!r} is the total", coded=True)
            elif form_item.target is not None:
                identity.add(form_item.target, f"the form's item {link_id!r}", coded=True)
    elif definition.item(link_id) is not None:
        identity.add(link_id, f"linkId {link_id!r}", coded=False)
    last = link_id.rstrip("/").rsplit("/", 1)[-1]
    if looks_like_loinc_code(last):
        _add_code(identity, definition, last, f"LOINC code {last} in linkId {link_id!r}")
    if definition_uri:
        code = loinc_code_in_definition(definition_uri)
        if code is not None:
            _add_code(identity, definition, code, f"definition {definition_uri!r}")
        else:
            _add_linked(identity, definition, form, definition_uri)
    return identity


def _add_code(identity: Identity, definition: Questionnaire, code: str, clue: str) -> None:
    if definition.total_code is not None and definition.total_code.code == code:
        identity.add(TOTAL, clue, coded=True)
        return
    if definition.code is not None and definition.code.code == code:
        return  # the panel itself: a group, not an item
    for item in definition.items:
        if item.code is not None and item.code.code == code:
            identity.add(item.link_id, clue, coded=True)
            return
    identity.add(f"?{code}", clue, coded=True)


def _add_linked(identity: Identity, definition: Questionnaire, form: ForeignForm | None, uri: str) -> None:
    """`<canonical>#<linkId>`: an item of the product's questionnaire or of the sender's form."""
    canonical, _, fragment = uri.strip().partition("#")
    if not fragment:
        return
    canonical = canonical.partition("|")[0].rstrip("/")
    own = any(canonical == f"{base}/Questionnaire/{definition.id}" for base in own_canonical_bases())
    if own and definition.item(fragment) is not None:
        identity.add(fragment, f"definition {uri!r}", coded=True)
    elif form is not None and canonical == form.url.partition("|")[0].rstrip("/"):
        form_item = form.items.get(fragment)
        if form_item is not None and (form_item.total or form_item.target):
            identity.add(TOTAL if form_item.total else form_item.target or "", f"definition {uri!r}", coded=True)
            identity.form_item = identity.form_item or form_item
