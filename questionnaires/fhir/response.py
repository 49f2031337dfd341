"""QuestionnaireResponse ingest: parse an EHR's resource into (definition, answers) checked against the exact version.

Only `completed` and `amended` responses are accepted: an `in-progress` one is rejected with an
OperationOutcome rather than stored unscored, because every stored response is scored and counted
in the clinic's metrics, and a half-filled form would be counted as a finished one.

Items are identified by what the resource says (see `identify`), answers by their code in any of the
LOINC answer lists the instrument's LOINC forms use, by the sender's form's declared weight, or by an
unambiguous number. What is certain but unusual (a different wording, a sender's total that disagrees
with ours) is returned as warnings beside the 201; what could be scored wrongly is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import pydantic
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as QRModel

from questionnaires.contract import Item, Number, Questionnaire, ScoringError
from questionnaires.fhir.canonical import RegisteredForm, Resolved, resolve_canonical
from questionnaires.fhir.codes import (
    ORDINAL_EXTENSIONS,
    answer_system,
    is_loinc_system,
    looks_like_loinc_answer_code,
)
from questionnaires.fhir.foreign import ForeignItem
from questionnaires.fhir.identify import TOTAL, identify
from questionnaires.fhir.outcome import FhirError, Issue
from questionnaires.fhir.wording import Wordings
from questionnaires.scoring import score_answers
from questionnaires.validation import validate_answers

ACCEPTED_STATUSES = ("completed", "amended")
MAX_NESTING = 64
"""JSON levels; a questionnaire with groups nests a handful, a hostile body thousands."""
ROOT = "QuestionnaireResponse"

# External ids are the integration's own (any printable text without "/"), not only FHIR-shaped ids.
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([^/]{1,128})(?:/_history/[^/]+)?$")


@dataclass
class ParsedResponse:
    """What the ingest hands to the submission service; `version_given` records whether the EHR pinned it.

    `authored` is a date (no time given: the ingest places it in the clinic's day) or an aware datetime.
    `warnings` are issues of severity warning for the OperationOutcome returned with the 201.
    """

    definition: Questionnaire
    version_given: bool
    client_external_id: str
    status: str
    authored: datetime | date
    answers: dict[str, Number]
    identifier: tuple[str, str] | None = None
    author_reference: str | None = None
    warnings: list[Issue] = field(default_factory=list)
    encounter: tuple[str, int | str] | None = None
    """The session named by `encounter`: ("session_id", our id) or ("session_external_id", the EHR's id)."""


@dataclass
class _Answered:
    item: Item
    path: str
    raw: list[Any]
    form_item: ForeignItem | None = None


@dataclass
class _Total:
    link_id: str
    path: str
    raw: list[Any]


class _Problems:
    """Every issue found so far, and which linkIds already have one; warnings are kept apart."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.link_ids: set[str] = set()
        self.warnings: list[Issue] = []

    def add(self, code: str, diagnostics: str, *expressions: str, link_id: str | None = None) -> None:
        self.issues.append(Issue(code=code, diagnostics=diagnostics, expression=tuple(e for e in expressions if e)))
        if link_id is not None:
            self.link_ids.add(link_id)

    def warn(self, code: str, diagnostics: str, *expressions: str) -> None:
        self.warnings.append(
            Issue(code=code, diagnostics=diagnostics, expression=tuple(e for e in expressions if e), severity="warning")
        )


def questionnaire_response_parse(
    payload: Any, *, registry: Any, registered_form: RegisteredForm | None = None
) -> ParsedResponse:
    """The response's definition, subject and answers, or a FhirError listing every problem.

    Structural errors (not a QuestionnaireResponse, malformed FHIR) are 400; content that does not
    fit the questionnaire is 422, with one issue per problem and its FHIRPath. `registered_form`
    looks up the caller's clinic's registered foreign forms by (url, version).
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
    resolved = resolve_canonical(
        model.questionnaire, registry=registry, payload=payload, registered_form=registered_form
    )
    definition = resolved.definition
    client_external_id = _subject(model.subject, problems)
    encounter = _encounter(model.encounter, problems)
    authored = _authored(model.authored, problems)
    answered, totals = _answered_items(model.item or [], ROOT, resolved, problems)
    answers = _convert(answered, definition, problems)
    _check_with_plugin(definition, answers, answered, problems)
    if problems.issues:
        raise FhirError(422, problems.issues)
    _compare_totals(totals, definition, answers, problems)
    identifier = None
    if model.identifier is not None and model.identifier.value:
        identifier = (model.identifier.system or "", model.identifier.value)
    author = model.author.reference if model.author is not None and model.author.reference else None
    return ParsedResponse(
        definition=definition,
        version_given=resolved.version_given,
        client_external_id=client_external_id or "",
        status=status,
        authored=cast(datetime | date, authored),  # a missing or partial one was a problem above
        answers=answers,
        identifier=identifier,
        author_reference=author,
        warnings=problems.warnings,
        encounter=encounter,
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


_ENCOUNTER_REFERENCE = re.compile(r"(?:^|/)Encounter/([0-9]{1,18})(?:/_history/[^/]+)?$")


def _encounter(encounter: Any, problems: _Problems) -> tuple[str, int | str] | None:
    """`encounter` = Encounter/<our session id>, or an identifier whose value is the EHR's session id."""
    where = f"{ROOT}.encounter"
    if encounter is None:
        return None
    if encounter.reference:
        match = _ENCOUNTER_REFERENCE.search(encounter.reference)
        if match is None:
            problems.add("invalid", f"encounter {encounter.reference!r} is not an Encounter of this server "
                         "(Encounter/<id>); send the EHR's session id as encounter.identifier", f"{where}.reference")
            return None
        return "session_id", int(match.group(1))
    if encounter.identifier is not None and encounter.identifier.value:
        return "session_external_id", encounter.identifier.value
    problems.add("required", "encounter needs a reference (Encounter/<id>) or an identifier", where)
    return None


def _authored(authored: Any, problems: _Problems) -> datetime | date | None:
    """When the answers were given: required, and at least to the day.

    A dateTime keeps its offset; a date alone is returned as a date for the ingest to place at noon in
    the clinic's time zone; a year or year-month cannot say which session the answers belong to.
    """
    where = f"{ROOT}.authored"
    if authored is None:
        problems.add(
            "required",
            "authored is required: when the answers were given, as a dateTime with its offset "
            "(e.g. 2025-05-06T10:20:00-04:00) or at least the day (2025-05-06); the time of receipt is not "
            "the time of answering",
            where,
        )
        return None
    if isinstance(authored, datetime):
        return authored if authored.tzinfo is not None else authored.replace(tzinfo=UTC)
    if isinstance(authored, date):
        return authored
    problems.add(
        "value",
        f"authored {authored!r} gives only a year or a month: send the day the answers were given (YYYY-MM-DD), "
        "or better the dateTime with its offset",
        where,
    )
    return None


def _answered_items(
    items: Iterable[Any], path: str, resolved: Resolved, problems: _Problems
) -> tuple[list[_Answered], list[_Total]]:
    """Flatten nested groups and answer-nested items into the definition's items, with their FHIRPaths."""
    definition = resolved.definition
    answered: list[_Answered] = []
    totals: list[_Total] = []
    seen: dict[str, str] = {}
    wordings = Wordings(definition)

    def walk(children: Iterable[Any], parent: str) -> None:
        for index, child in enumerate(children):
            here = f"{parent}.item[{index}]"
            answers = list(child.answer or [])
            identity = identify(child.linkId, child.definition, definition=definition, form=resolved.form)
            target = identity.target
            if identity.ambiguous:
                if answers:
                    named = "; ".join(
                        f"{' and '.join(clues)} name{'s' if len(clues) == 1 else ''} {_target_name(definition, t)}"
                        for t, clues in identity.clues.items()
                    )
                    problems.add(
                        "invalid",
                        f"linkId {child.linkId!r} is ambiguous: {named}; send a linkId and definition that agree",
                        here,
                    )
            elif target == TOTAL:
                totals.append(_Total(link_id=child.linkId, path=here, raw=answers))
            elif target is None or target.startswith("?"):
                if answers:
                    what = f" (LOINC {target[1:]})" if target else ""
                    problems.add(
                        "invalid",
                        f"linkId {child.linkId!r}{what} is not an item of {definition.id} {definition.version}",
                        f"{here}.linkId",
                    )
            elif (item := definition.item(target)) is None:
                # A registered form mapped onto an item the plugin's current version no longer has.
                if answers:
                    problems.add(
                        "invalid",
                        f"linkId {child.linkId!r} maps onto item {target}, which {definition.id} "
                        f"{definition.version} does not have",
                        f"{here}.linkId",
                    )
            else:
                if child.text:
                    _check_text(
                        child, here, item, definition, wordings, problems, certain=identity.by_code or resolved.own
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
                    answered.append(_Answered(item=item, path=here, raw=answers, form_item=identity.form_item))
            walk(child.item or [], here)
            for answer_index, answer in enumerate(answers):
                walk(answer.item or [], f"{here}.answer[{answer_index}]")

    walk(items, path)
    return answered, totals


def _target_name(definition: Questionnaire, target: str) -> str:
    if target == TOTAL:
        return f"the {definition.id} total"
    if target.startswith("?"):
        return f"LOINC {target[1:]}, not an item of {definition.id}"
    return f"item {target}"


def _check_text(
    child: Any,
    here: str,
    item: Item,
    definition: Questionnaire,
    wordings: Wordings,
    problems: _Problems,
    *,
    certain: bool,
) -> None:
    """A different question's text is refused; another wording of a certainly identified item is a warning."""
    verdict = wordings.judge(child.text, item.link_id)
    if verdict.agrees:
        return
    where = f"{here}.text"
    if verdict.other_item is not None:
        problems.add(
            "invalid",
            f"linkId {child.linkId!r}: item text {child.text!r} is the question of item {verdict.other_item} of "
            f"{definition.id} {definition.version}, not of item {item.link_id}",
            where,
            link_id=item.link_id,
        )
    elif certain:
        problems.warn(
            "informational",
            f"linkId {child.linkId!r}: item text {child.text!r} differs from the wording of {definition.id} item "
            f"{item.link_id}; the item is identified by its code, and the answer is scored as item {item.link_id}",
            where,
        )
    else:
        problems.add(
            "invalid",
            f"linkId {child.linkId!r}: item text {child.text!r} contradicts item {item.link_id} of "
            f"{definition.id} {definition.version}",
            where,
            link_id=item.link_id,
        )


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
        value = _answer_value(entry.raw[0], item, definition, answer_path, problems, entry.form_item)
        if value is not None:
            answers[item.link_id] = value
    return answers


def _answer_value(
    answer: Any, item: Item, definition: Questionnaire, path: str, problems: _Problems, form_item: ForeignItem | None
) -> Any:
    if answer.valueCoding is not None:
        return _coded_value(answer, item, definition, path, problems, form_item)
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


def _coded_value(
    answer: Any, item: Item, definition: Questionnaire, path: str, problems: _Problems, form_item: ForeignItem | None
) -> Number | None:
    """The scale point a Coding names, the same whatever optional parts (system, display, version) it carries.

    In order: the weight the sender's form declares for that code; a code the instrument knows (its
    LOINC answer codes, the other LOINC lists its LOINC forms use, the project's own codes), with or
    without a system; else, for a code of the sender's own system, its ordinalValue/itemWeight. A LOINC
    answer code the item does not know is refused, with or without its system or an ordinal value.
    """
    coding = answer.valueCoding
    where = f"{path}.valueCoding"
    if item.type != "choice":
        problems.add(
            "value",
            f"linkId {item.link_id!r} is a {item.type} item: answer with value{item.type.title()}",
            where,
            link_id=item.link_id,
        )
        return None
    known = _known_value(item, definition, coding, bare_numbers=form_item is None)
    declared = None
    if form_item is not None:
        option = form_item.option_for(coding.system, coding.code)
        declared = option.weight if option is not None else None
    if declared is not None and known is not None and declared != known:
        problems.add(
            "value",
            f"linkId {item.link_id!r}: code {coding.code!r} is worth {known} on {definition.id}, "
            f"but the sender's form gives it {declared}",
            where,
            link_id=item.link_id,
        )
        return None
    value = declared if declared is not None else known
    ordinal = _ordinal(coding.extension) if _ordinal(coding.extension) is not None else _ordinal(answer.extension)
    if value is not None:
        if ordinal is not None and ordinal != value:
            problems.add(
                "value",
                f"linkId {item.link_id!r}: code {coding.code!r} means {value} but its ordinal value says {ordinal}",
                where,
                link_id=item.link_id,
            )
            return None
        return _number(value)
    foreign_code = coding.code is None or not (
        is_loinc_system(coding.system)
        or (coding.system is None and looks_like_loinc_answer_code(coding.code))
        or (coding.system or "").endswith(answer_system_suffix(definition))
    )
    if ordinal is not None and foreign_code:
        return _number(ordinal)
    allowed = ", ".join(_option_description(option) for option in item.options)
    problems.add(
        "code-invalid",
        f"linkId {item.link_id!r}: answer {coding.system or ''}|{coding.code or ''} is "
        f"not one of the item's options ({allowed})",
        where,
        link_id=item.link_id,
    )
    return None


def _known_value(item: Item, definition: Questionnaire, coding: Any, *, bare_numbers: bool) -> Decimal | None:
    """The option value of a code the instrument knows; `bare_numbers`: the project's own codes ("0".."3")."""
    own_system = answer_system_suffix(definition)
    for option in item.options:
        for code in (option.code, *option.also_codes):
            if code is None or coding.code != code.code:
                continue
            if (
                coding.system is None
                or coding.system == code.system
                or (is_loinc_system(coding.system) and is_loinc_system(code.system))
            ):
                return Decimal(option.value)
        if coding.code == str(option.value) and (
            (coding.system is not None and coding.system.endswith(own_system))
            or (coding.system is None and bare_numbers)
        ):
            return Decimal(option.value)
    return None


def _number(value: Decimal) -> Number:
    return int(value) if value == value.to_integral_value() else value


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


def _compare_totals(
    totals: list[_Total], definition: Questionnaire, answers: dict[str, Any], problems: _Problems
) -> None:
    """A sender's computed total is never stored; one that disagrees with the instrument's scoring is a warning.

    Compared only for declaratively scored instruments (the project's own engine, pure and cheap); a
    plugin's custom `score()` runs in the scoring worker, behind its fault boundary.
    """
    if not totals or definition.score is not None:
        return
    try:
        computed = score_answers(definition, answers).total
    except ScoringError:
        return
    for total in totals:
        sent = _sent_total(total.raw)
        if sent is not None and sent != computed:
            problems.warn(
                "value",
                f"linkId {total.link_id!r}: the sender's total {sent} differs from the {definition.id} total "
                f"{computed} computed from the answers; the computed total is stored, the sender's is not",
                f"{total.path}.answer[0]",
            )


def _sent_total(raw: list[Any]) -> Decimal | None:
    if len(raw) != 1:
        return None
    answer = raw[0]
    for value in (
        answer.valueInteger,
        answer.valueDecimal,
        answer.valueQuantity.value if answer.valueQuantity else None,
    ):
        if value is not None:
            try:
                return Decimal(str(value))
            except InvalidOperation:
                return None
    return None
