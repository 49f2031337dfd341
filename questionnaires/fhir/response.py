"""QuestionnaireResponse ingest: parse an EHR's resource into (definition, answers) checked against the exact version.

Only `completed` and `amended` responses are accepted: an `in-progress` one is rejected with an
OperationOutcome rather than stored unscored, because every stored response is scored and counted
in the clinic's metrics, and a half-filled form would be counted as a finished one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import pydantic
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as QRModel

from questionnaires.contract import LOINC, Item, Number, Questionnaire
from questionnaires.fhir.codes import ORDINAL_EXTENSIONS, answer_system, item_by_code
from questionnaires.fhir.outcome import FhirError, Issue
from questionnaires.fhir.questionnaire import served_texts
from questionnaires.validation import validate_answers

ACCEPTED_STATUSES = ("completed", "amended")
MAX_NESTING = 64
"""JSON levels; a questionnaire with groups nests a handful, a hostile body thousands."""
ROOT = "QuestionnaireResponse"

# External ids are the integration's own (any printable text without "/"), not only FHIR-shaped ids.
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([^/]{1,128})(?:/_history/[^/]+)?$")
_QUESTIONNAIRE_CANONICAL = re.compile(r"(?:^|/)Questionnaire/([^/|?#]+)$")


@dataclass
class ParsedResponse:
    """What the ingest hands to the submission service; `version_given` records whether the EHR pinned it."""

    definition: Questionnaire
    version_given: bool
    client_external_id: str
    status: str
    authored: datetime | None
    answers: dict[str, Number]
    identifier: tuple[str, str] | None = None
    author_reference: str | None = None
    warnings: list[Issue] = field(default_factory=list)


@dataclass
class _Answered:
    item: Item
    path: str
    raw: list[Any]


class _Problems:
    """Every issue found so far, and which linkIds already have one."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.link_ids: set[str] = set()

    def add(self, code: str, diagnostics: str, *expressions: str, link_id: str | None = None) -> None:
        self.issues.append(Issue(code=code, diagnostics=diagnostics, expression=tuple(e for e in expressions if e)))
        if link_id is not None:
            self.link_ids.add(link_id)


def questionnaire_response_parse(payload: Any, *, registry: Any) -> ParsedResponse:
    """The response's definition, subject and answers, or a FhirError listing every problem.

    Structural errors (not a QuestionnaireResponse, malformed FHIR) are 400; content that does not
    fit the questionnaire is 422, with one issue per problem and its FHIRPath.
    """
    model = _model(payload)
    problems = _Problems()
    status = model.status or ""
    if status not in ACCEPTED_STATUSES:
        if status == "in-progress":
            message = (
                "status 'in-progress' is not accepted: only completed (or amended) responses are stored and "
                "scored; post the response again once it is completed"
            )
        else:
            message = f"status '{status}' is not accepted: use 'completed' or 'amended'"
        raise FhirError(422, [Issue(code="business-rule", diagnostics=message, expression=(f"{ROOT}.status",))])
    definition, version_given = _definition(model.questionnaire, registry)
    client_external_id = _subject(model.subject, problems)
    authored = _authored(model.authored)
    answered = _answered_items(model.item or [], f"{ROOT}", definition, problems)
    answers = _convert(answered, definition, problems)
    _check_with_plugin(definition, answers, answered, problems)
    if problems.issues:
        raise FhirError(422, problems.issues)
    identifier = None
    if model.identifier is not None and model.identifier.value:
        identifier = (model.identifier.system or "", model.identifier.value)
    author = model.author.reference if model.author is not None and model.author.reference else None
    return ParsedResponse(
        definition=definition,
        version_given=version_given,
        client_external_id=client_external_id or "",
        status=status,
        authored=authored,
        answers=answers,
        identifier=identifier,
        author_reference=author,
    )


def _model(payload: Any) -> QRModel:
    if not isinstance(payload, dict) or payload.get("resourceType") != "QuestionnaireResponse":
        found = payload.get("resourceType") if isinstance(payload, dict) else type(payload).__name__
        raise FhirError(
            400, [Issue(code="structure", diagnostics=f"expected a QuestionnaireResponse resource, got {found!r}")]
        )
    if _nesting_depth(payload) > MAX_NESTING:
        raise FhirError(
            400, [Issue(code="too-long", diagnostics=f"the resource nests deeper than {MAX_NESTING} levels")]
        )
    try:
        return QRModel.model_validate(payload)
    except pydantic.ValidationError as error:
        raise FhirError(400, [_pydantic_issue(entry) for entry in error.errors()[:50]]) from None
    except RecursionError:
        raise FhirError(400, [Issue(code="too-long", diagnostics="the resource nests too deeply")]) from None
    except (ValueError, TypeError) as error:
        raise FhirError(
            400, [Issue(code="structure", diagnostics=f"not a valid QuestionnaireResponse: {error}")]
        ) from None


def _nesting_depth(payload: Any) -> int:
    """How deep JSON containers nest, counted without recursion (a hostile body cannot exhaust the stack here)."""
    deepest, stack = 0, [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _pydantic_issue(entry: dict) -> Issue:
    path = ROOT
    for part in entry.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return Issue(code="structure", diagnostics=f"{path}: {entry.get('msg', 'invalid')}", expression=(path,))


def _definition(canonical: str | None, registry: Any) -> tuple[Questionnaire, bool]:
    """Resolve `url|version`; without a version, the current one (the caller records which)."""
    where = f"{ROOT}.questionnaire"
    if not canonical:
        raise FhirError(
            422,
            [Issue(code="required", diagnostics="questionnaire (the canonical URL) is required", expression=(where,))],
        )
    url, _, version = canonical.partition("|")
    url = url.strip().rstrip("/")
    match = _QUESTIONNAIRE_CANONICAL.search(url)
    questionnaire_id = match.group(1) if match else None
    if questionnaire_id is None or registry.get(questionnaire_id) is None:
        # An EHR may name the form by its LOINC panel code (e.g. http://loinc.org/q/44249-1).
        last_segment = url.rsplit("/", 1)[-1]
        by_panel = {d.id for d in registry.all() if d.code is not None and d.code.code == last_segment}
        questionnaire_id = by_panel.pop() if len(by_panel) == 1 else questionnaire_id
    if questionnaire_id is None or registry.get(questionnaire_id) is None:
        raise FhirError(
            422, [Issue(code="not-found", diagnostics=f"unknown questionnaire {canonical!r}", expression=(where,))]
        )
    definition = registry.get(questionnaire_id, version or None)
    if definition is None:
        known = ", ".join(d.version for d in registry.all() if d.id == questionnaire_id)
        raise FhirError(
            422,
            [
                Issue(
                    code="not-found",
                    expression=(where,),
                    diagnostics=f"questionnaire {questionnaire_id} has no version {version!r} (known: {known})",
                )
            ],
        )
    return definition, bool(version)


def _subject(subject: Any, problems: _Problems) -> str | None:
    where = f"{ROOT}.subject"
    if subject is None:
        problems.add("required", "subject is required: Patient/<external id> or an identifier", where)
        return None
    if subject.reference:
        match = _PATIENT_REFERENCE.search(subject.reference)
        if match is None:
            problems.add("invalid", f"subject {subject.reference!r} is not a Patient reference", f"{where}.reference")
            return None
        return match.group(1)
    if subject.identifier is not None and subject.identifier.value:
        return subject.identifier.value
    problems.add("required", "subject needs a reference (Patient/<external id>) or an identifier", where)
    return None


def _authored(authored: Any) -> datetime | None:
    """A date alone is taken as midnight UTC; no `authored` leaves it to the service (receipt time)."""
    if authored is None:
        return None
    if isinstance(authored, datetime):
        return authored if authored.tzinfo is not None else authored.replace(tzinfo=UTC)
    if isinstance(authored, date):
        return datetime.combine(authored, time(0), tzinfo=UTC)
    raise FhirError(
        422, [Issue(code="value", diagnostics="authored must be a dateTime", expression=(f"{ROOT}.authored",))]
    )


def _answered_items(items: Iterable[Any], path: str, definition: Questionnaire, problems: _Problems) -> list[_Answered]:
    """Flatten nested groups and answer-nested items into the definition's items, with their FHIRPaths."""
    answered: list[_Answered] = []
    seen: dict[str, str] = {}
    texts = _accepted_texts(definition)

    def walk(children: Iterable[Any], parent: str) -> None:
        for index, child in enumerate(children):
            here = f"{parent}.item[{index}]"
            answers = list(child.answer or [])
            item = _match_item(definition, child.linkId)
            if item is None:
                if _is_total(definition, child.linkId):
                    pass  # a score the EHR computed itself; ours is derived from the answers
                elif answers:
                    problems.add(
                        "invalid",
                        f"linkId {child.linkId!r} is not an item of {definition.id} {definition.version}",
                        f"{here}.linkId",
                    )
            else:
                if child.text and not _text_agrees(child.text, texts.get(item.link_id, set())):
                    problems.add(
                        "invalid",
                        f"linkId {child.linkId!r}: item text {child.text!r} contradicts item {item.link_id} of "
                        f"{definition.id} {definition.version}",
                        f"{here}.text",
                        link_id=item.link_id,
                    )
                if item.link_id in seen:
                    problems.add(
                        "invalid",
                        f"linkId {item.link_id!r} is answered twice (also at {seen[item.link_id]})",
                        here,
                        link_id=item.link_id,
                    )
                elif answers:
                    seen[item.link_id] = here
                    answered.append(_Answered(item=item, path=here, raw=answers))
            walk(child.item or [], here)
            for answer_index, answer in enumerate(answers):
                walk(answer.item or [], f"{here}.answer[{answer_index}]")

    walk(items, path)
    return answered


def _match_item(definition: Questionnaire, link_id: str) -> Item | None:
    item = definition.item(link_id)
    if item is None:
        # EHR forms generated from LOINC use the item codes as linkIds ("/44250-9").
        item = item_by_code(definition, link_id.strip().lstrip("/"))
    return item


def _is_total(definition: Questionnaire, link_id: str) -> bool:
    return definition.total_code is not None and link_id.strip().lstrip("/") == definition.total_code.code


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


def _accepted_texts(definition: Questionnaire) -> dict[str, set[str]]:
    """Every wording that names an item: plugin text, served text (packs), labels, translations, code display.

    Items whose wording the project does not know (licensed text it may not hold) accept any text.
    """
    served = served_texts(definition)
    accepted: dict[str, set[str]] = {}
    for item in definition.items:
        wordings = {item.text, served.get(item.link_id)}
        if not any(wordings):
            continue
        wordings |= {item.label, item.code.display if item.code else None}
        for translation in definition.translations.values():
            wordings |= {translation.labels.get(item.link_id), translation.texts.get(item.link_id)}
        accepted[item.link_id] = {_normalise(w) for w in wordings if w}
    return accepted


def _text_agrees(text: str, accepted: set[str]) -> bool:
    """Agreement allows a shortened or lengthened wording (an EHR's display text), not a different question."""
    if not accepted:
        return True
    given = _normalise(text)
    if not given:
        return True
    return any(given == known or (len(given) >= 12 and (given in known or known in given)) for known in accepted)


def _convert(answered: list[_Answered], definition: Questionnaire, problems: _Problems) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for entry in answered:
        item, path = entry.item, entry.path
        if len(entry.raw) > 1:
            problems.add(
                "invalid",
                f"linkId {item.link_id!r} takes one answer, got {len(entry.raw)}",
                f"{path}.answer[1]",
                link_id=item.link_id,
            )
            continue
        answer_path = f"{path}.answer[0]"
        value = _answer_value(entry.raw[0], item, definition, answer_path, problems)
        if value is not None:
            answers[item.link_id] = value
    return answers


def _answer_value(answer: Any, item: Item, definition: Questionnaire, path: str, problems: _Problems) -> Any:
    if answer.valueCoding is not None:
        return _coded_value(answer, item, definition, path, problems)
    if answer.valueInteger is not None:
        return answer.valueInteger
    if answer.valueDecimal is not None:
        value = Decimal(str(answer.valueDecimal))
        if item.type != "decimal" and value == value.to_integral_value():
            return int(value)
        return value
    present = [name for name in type(answer).model_fields if name.startswith("value") and getattr(answer, name)]
    kind = present[0] if present else "no value"
    expected = (
        "valueCoding" if item.type == "choice" else ("valueDecimal" if item.type == "decimal" else "valueInteger")
    )
    problems.add(
        "value",
        f"linkId {item.link_id!r}: answer as {kind} is not supported; expected {expected}",
        path,
        link_id=item.link_id,
    )
    return None


def _coded_value(answer: Any, item: Item, definition: Questionnaire, path: str, problems: _Problems) -> int | None:
    """Match a Coding by its code (LOINC answer code or our own), falling back to its ordinal-value extension."""
    coding = answer.valueCoding
    if item.type != "choice":
        problems.add(
            "value",
            f"linkId {item.link_id!r} is a {item.type} item: answer with value{item.type.title()}",
            f"{path}.valueCoding",
            link_id=item.link_id,
        )
        return None
    own_system = answer_system_suffix(definition)
    by_code = None
    for option in item.options:
        if option.code is not None and coding.code == option.code.code and coding.system in (None, option.code.system):
            by_code = option.value
        elif coding.code == str(option.value) and (coding.system is None or coding.system.endswith(own_system)):
            by_code = option.value
    ordinal = _ordinal(coding.extension) if _ordinal(coding.extension) is not None else _ordinal(answer.extension)
    option_values = {option.value for option in item.options}
    if by_code is not None:
        if ordinal is not None and ordinal != by_code:
            problems.add(
                "value",
                f"linkId {item.link_id!r}: code {coding.code!r} means {by_code} but its ordinal value says {ordinal}",
                f"{path}.valueCoding",
                link_id=item.link_id,
            )
            return None
        return by_code
    if ordinal is not None and ordinal in option_values and (coding.code is None or coding.system not in (LOINC,)):
        return int(ordinal)
    allowed = ", ".join(_option_description(option) for option in item.options)
    problems.add(
        "code-invalid",
        f"linkId {item.link_id!r}: answer {coding.system or ''}|{coding.code or ''} is "
        f"not one of the item's options ({allowed})",
        f"{path}.valueCoding",
        link_id=item.link_id,
    )
    return None


def answer_system_suffix(definition: Questionnaire) -> str:
    """Our own answer system ends so on any host name the EHR saw us under."""
    return answer_system("", definition.id)


def _option_description(option: Any) -> str:
    code = f"{option.code.code}=" if option.code is not None else ""
    return f"{code}{option.value}"


def _ordinal(extensions: Any) -> Decimal | None:
    for extension in extensions or []:
        if extension.url in ORDINAL_EXTENSIONS:
            raw = extension.valueDecimal if extension.valueDecimal is not None else extension.valueInteger
            try:
                value = Decimal(str(raw)) if raw is not None else None
            except InvalidOperation:
                value = None
            if value is not None:
                return value if value != value.to_integral_value() else Decimal(int(value))
    return None


def _check_with_plugin(
    definition: Questionnaire, answers: dict[str, Any], answered: list[_Answered], problems: _Problems
) -> None:
    """The same answer validation as a native submission, its problems placed on the response's items."""
    paths = {entry.item.link_id: f"{entry.path}.answer[0]" for entry in answered}
    already = set(problems.link_ids)
    _, plugin_problems = validate_answers(definition, answers)
    for problem in plugin_problems:
        link_id = problem.field.split(".", 1)[1] if "." in problem.field else ""
        if link_id in already:
            continue  # its answer was already refused above; a second "missing" issue would only confuse
        where = paths.get(link_id, f"{ROOT}.item" if link_id else ROOT)
        code = "required" if problem.code == "required" else ("value" if link_id else "invalid")
        label = f"linkId {link_id!r}: " if link_id else ""
        message = "a required item has no answer" if problem.message == "required" else problem.message
        problems.add(code, f"{label}{message}", where)
