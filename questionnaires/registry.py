"""The questionnaire registry: discovery, loading, validation, lookup by (id, version).

Built-ins come from `plugins.BUILTIN_PLUGINS`, third-party plugins from the entry-point group
`alliance_api.questionnaires`. A plugin, or one of its definitions, that fails to import or to
pass the load checks is left out and recorded as a `PluginProblem`; everything else is served.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from questionnaires.contract import (
    CONTRACT_VERSION,
    AlertRule,
    Band,
    Code,
    Example,
    Item,
    NormCurve,
    Questionnaire,
    Scoring,
    ScoringError,
    Subscale,
    Translation,
)

ENTRY_POINT_GROUP = "alliance_api.questionnaires"

logger = logging.getLogger("questionnaires.registry")

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
VERSION_PATTERN = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)

Key = tuple[str, str]


@dataclass(frozen=True)
class PluginProblem:
    """A plugin left out: where it came from, at which stage it failed, and why.

    Stages: "import", "contract", "validation", "examples", "duplicate", "version", "text-pack".
    """

    source: str
    stage: str
    message: str


class DefinitionChanged(LookupError):
    """A definition differs from the stored row of the same (id, version); it is no longer served."""


def version_sort_key(version: str) -> tuple:
    """Semver order: numeric major.minor.patch, a pre-release below its release; unparseable versions first."""
    match = VERSION_PATTERN.match(version)
    if not match:
        return (-1, -1, -1, 0, ())
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple((0, int(part), "") if part.isascii() and part.isdigit() else (1, 0, part) for part in pre.split("."))
    return (int(major), int(minor), int(patch), 0, parts)


@dataclass
class Registry:
    """The loaded definitions and the problems met loading them; lookups are cached."""

    definitions: dict[Key, Questionnaire] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)
    sources: dict[Key, str] = field(default_factory=dict)
    """Where each loaded definition came from: a built-in module path or an entry point's value."""
    _latest: dict[str, Questionnaire] | None = field(default=None, init=False, repr=False, compare=False)
    _latest_stamp: tuple[int, int] = field(default=(0, 0), init=False, repr=False, compare=False)
    _rows: dict[Key, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _unconfirmed: set[Key] = field(default_factory=set, init=False, repr=False, compare=False)
    _left_out: dict[Key, PluginProblem] = field(default_factory=dict, init=False, repr=False, compare=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False, compare=False)

    def get(self, questionnaire_id: str, version: str | None = None) -> Questionnaire | None:
        """The definition, or None; without a version, the highest (semver) version."""
        if version is not None:
            return self.definitions.get((questionnaire_id, version))
        return self._latest_by_id().get(questionnaire_id)

    def all(self) -> list[Questionnaire]:
        """Every loaded definition, all versions, ordered by id then version."""
        return sorted(
            self.definitions.values(), key=lambda definition: (definition.id, version_sort_key(definition.version))
        )

    def latest(self) -> list[Questionnaire]:
        """The highest version of each questionnaire id."""
        latest = self._latest_by_id()
        return [latest[questionnaire_id] for questionnaire_id in sorted(latest)]

    def source_of(self, definition: Questionnaire) -> str:
        return self.sources.get(definition.key, "")

    def version_row(self, definition: Questionnaire):
        """The QuestionnaireVersion row for a definition (created on first use, cached).

        Raises DefinitionChanged when the stored row of this (id, version) has another content
        hash: the definition is then left out of the registry and reported (stage "version").
        """
        key = definition.key
        row = self._rows.get(key)
        if row is not None and self.definitions.get(key) is definition:
            return row
        problem = self._left_out.get(key)
        if problem is not None and problem.stage == "version":
            raise DefinitionChanged(problem.message)
        if self.definitions.get(key) is not definition:
            return self._unregistered_row(definition)
        rows = self._sync()
        problem = self._left_out.get(key)
        if key not in rows and problem is not None:
            raise DefinitionChanged(problem.message)
        return rows[key]

    def sync_versions(self, *, using: str | None = None, refresh: bool = False) -> list[PluginProblem]:
        """Create the missing version rows and verify the others; returns the problems this call found.

        Runs on post_migrate (with `refresh`, since a flush replaces the rows) and on first use.
        """
        before = len(self.problems)
        self._sync(using=using, refresh=refresh)
        return self.problems[before:]

    def _sync(self, *, using: str | None = None, refresh: bool = False) -> dict[Key, Any]:
        """Sync every loaded definition; returns the verified rows by key.

        Rows created inside a transaction are cached only once it commits, so a rollback (a test,
        a failed request) never leaves this process holding a row that does not exist.
        """
        # Local imports (here and below): this module stays importable without Django configured, and
        # version_sync needs the models.
        from django.db import DEFAULT_DB_ALIAS, connections, transaction

        from questionnaires.version_sync import questionnaire_versions_sync

        alias = using or DEFAULT_DB_ALIAS
        with self._lock:
            result = questionnaire_versions_sync(definitions=self.all(), sources=self.sources, using=alias)
            for conflict in result.conflicts:
                self._leave_out(conflict.definition, "version", conflict.message)
            if alias != DEFAULT_DB_ALIAS:
                return result.rows
            if refresh:
                self._rows.clear()
            in_transaction = connections[alias].in_atomic_block
            for key, row in result.rows.items():
                if in_transaction and (key in result.created or key in self._unconfirmed):
                    self._unconfirmed.add(key)
                    transaction.on_commit(lambda key=key, row=row: self._confirm(key, row), using=alias)
                else:
                    self._unconfirmed.discard(key)
                    self._rows[key] = row
            return result.rows

    def _confirm(self, key: Key, row: Any) -> None:
        with self._lock:
            self._unconfirmed.discard(key)
            if key in self.definitions:
                self._rows[key] = row

    def _unregistered_row(self, definition: Questionnaire):
        """A definition not served by this registry (e.g. built in a test): verified every time, never cached."""
        from questionnaires.version_sync import questionnaire_versions_sync

        result = questionnaire_versions_sync(definitions=[definition], sources={})
        if result.conflicts:
            raise DefinitionChanged(result.conflicts[0].message)
        return result.rows[definition.key]

    def _leave_out(self, definition: Questionnaire, stage: str, message: str) -> PluginProblem:
        source = self.sources.get(definition.key, "")
        problem = PluginProblem(source=source or definition.id, stage=stage, message=message)
        with self._lock:
            definitions = dict(self.definitions)
            definitions.pop(definition.key, None)
            self.definitions = definitions
            self._latest = None
            self._rows.pop(definition.key, None)
            self._left_out[definition.key] = problem
            self.problems.append(problem)
        _log_problem(problem)
        return problem

    def rating_partner(self, questionnaire_id: str) -> str | None:
        """The questionnaire rating the same alliance from the other side: the one this id's versions name
        in `rated_with`, else the one naming this id (the load checks allow at most one)."""
        named_by = None
        for definition in self.definitions.values():
            if definition.id == questionnaire_id and definition.rated_with:
                return definition.rated_with
            if definition.rated_with == questionnaire_id:
                named_by = definition.id
        return named_by

    def _latest_by_id(self) -> dict[str, Questionnaire]:
        # Rebuilt when `definitions` is replaced or grows or shrinks (tests edit it directly).
        stamp = (id(self.definitions), len(self.definitions))
        if self._latest is None or self._latest_stamp != stamp:
            latest: dict[str, Questionnaire] = {}
            for definition in self.definitions.values():
                current = latest.get(definition.id)
                if current is None or version_sort_key(definition.version) > version_sort_key(current.version):
                    latest[definition.id] = definition
            self._latest, self._latest_stamp = latest, stamp
        return self._latest


# --- Loading ----------------------------------------------------------------------------------


def load_registry(
    *,
    builtin_modules: Iterable[str],
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
    exclude: Iterable[str] = (),
    autoload: bool = True,
) -> Registry:
    """Load, check and index the plugins; never raises for a plugin's fault.

    `entry_points` None means the installed ones of `ENTRY_POINT_GROUP`; with `autoload` False no
    entry point is loaded at all. `exclude` names plugin sources (a module path, an entry point's
    name or value, or its distribution) or questionnaire ids to leave out quietly.
    """
    excluded = {name.strip() for name in exclude if name and name.strip()}
    registry = Registry()
    loaded_modules: set[str] = set()
    for module_path in builtin_modules:
        if module_path in excluded:
            logger.info("questionnaire plugin %r excluded by settings", module_path)
            continue
        loaded_modules.add(module_path)
        questionnaires = _import_plugin(
            registry, module_path, lambda module_path=module_path: importlib.import_module(module_path)
        )
        if questionnaires is not None:
            _add_definitions(registry, module_path, questionnaires, excluded)
    if autoload:
        for entry_point in _entry_points(entry_points):
            names = {entry_point.name, entry_point.value, entry_point.module}
            distribution = getattr(entry_point, "dist", None)
            if distribution is not None and getattr(distribution, "name", None):
                names.add(distribution.name)
            if names & excluded:
                logger.info("questionnaire plugin %r excluded by settings", entry_point.value)
                continue
            if entry_point.value in loaded_modules:
                continue  # a built-in that is also published as an entry point
            loaded_modules.add(entry_point.value)
            questionnaires = _import_plugin(registry, entry_point.value, entry_point.load)
            if questionnaires is not None:
                _add_definitions(registry, entry_point.value, questionnaires, excluded)
    _check_rating_pairs(registry)
    return registry


def _check_rating_pairs(registry: Registry) -> None:
    """Leave out definitions whose `rated_with` cannot be honoured once every plugin has loaded.

    The partner must be loaded, its totals must span the same range (a gap is only meaningful on
    one scale), and each questionnaire may have one partner. Repeated until stable, since leaving
    one side out can strand the other.
    """
    while True:
        failing: list[tuple[Questionnaire, str]] = []
        partner_of: dict[str, str] = {}
        declared = {(definition.id, definition.rated_with) for definition in registry.definitions.values()}
        # Mutual declarations claim their pair first, so a third form naming one side is the one left out.
        for definition in sorted(registry.all(), key=lambda d: (d.rated_with, d.id) not in declared):
            partner = definition.rated_with
            if partner is None:
                continue
            label = f"{definition.id} {definition.version}"
            partners = [other for other in registry.definitions.values() if other.id == partner]
            if not partners:
                failing.append((definition, f"{label}: rated_with names {partner!r}, which is not loaded"))
                continue
            ranges = {(other.scoring.total_min, other.scoring.total_max) for other in partners}
            own = (definition.scoring.total_min, definition.scoring.total_max)
            if ranges != {own}:
                failing.append(
                    (definition, f"{label}: rated_with {partner!r} has a total range other than {own[0]}-{own[1]}")
                )
                continue
            claims = {definition.id: partner, partner: definition.id}
            clash = next(
                (f"{key!r} is already paired with {partner_of[key]!r}"
                 for key, value in claims.items() if partner_of.get(key, value) != value),
                None,
            )
            if clash is None:
                clash = next(
                    (f"{partner!r} names {other.rated_with!r} in its rated_with" for other in partners
                     if other.rated_with not in (None, definition.id)),
                    None,
                )
            if clash is not None:
                failing.append((definition, f"{label}: rated_with {partner!r} conflicts: {clash}"))
                continue
            partner_of.update(claims)
        if not failing:
            return
        for definition, message in failing:
            source = registry.sources.pop(definition.key, "") or definition.id
            registry.definitions.pop(definition.key, None)
            _record(registry, PluginProblem(source, "validation", message))


def _entry_points(given: Iterable[importlib.metadata.EntryPoint] | None) -> list[importlib.metadata.EntryPoint]:
    if given is not None:
        return list(given)
    try:
        found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # plugin boundary: broken distribution metadata must not stop the service
        logger.exception("cannot list entry points of group %r", ENTRY_POINT_GROUP)
        return []
    return sorted(found, key=lambda entry_point: (entry_point.name, entry_point.value))


def _import_plugin(registry: Registry, source: str, load) -> tuple[Questionnaire, ...] | None:
    """The plugin's definitions, or None with the problem recorded."""
    try:
        loaded = load()
    except (Exception, SystemExit) as error:  # plugin boundary: even a plugin calling sys.exit() is left out
        _record(registry, PluginProblem(source, "import", _describe(error)), error)
        return None
    questionnaires = getattr(loaded, "QUESTIONNAIRES", loaded)
    if isinstance(questionnaires, Questionnaire):
        questionnaires = (questionnaires,)
    if not isinstance(questionnaires, list | tuple) or not all(
        isinstance(definition, Questionnaire) for definition in questionnaires
    ):
        message = "expected QUESTIONNAIRES, a tuple of questionnaires.contract.Questionnaire"
        _record(registry, PluginProblem(source, "contract", message))
        return None
    if not questionnaires:
        _record(registry, PluginProblem(source, "contract", "QUESTIONNAIRES is empty"))
        return None
    return tuple(questionnaires)


def _add_definitions(
    registry: Registry, source: str, questionnaires: tuple[Questionnaire, ...], excluded: set[str]
) -> None:
    for definition in questionnaires:
        label = f"{getattr(definition, 'id', '?')} {getattr(definition, 'version', '?')}"
        if definition.id in excluded:
            logger.info("questionnaire %s from %r excluded by settings", label, source)
            continue
        if definition.requires_contract != CONTRACT_VERSION:
            message = (
                f"{label} requires plugin contract version {definition.requires_contract!r}; "
                f"this server provides {CONTRACT_VERSION}"
            )
            _record(registry, PluginProblem(source, "contract", message))
            continue
        try:
            problems = definition_problems(definition)
            stage = "validation"
            if not problems:
                stage = "examples"
                problems = example_problems(definition)
        except Exception as error:  # plugin boundary: a check tripping over odd data, or plugin score() raising
            _record(registry, PluginProblem(source, stage, f"{label}: {_describe(error)}"), error)
            continue
        if problems:
            _record(registry, PluginProblem(source, stage, f"{label}: {'; '.join(problems)}"))
            continue
        if definition.key in registry.definitions:
            other = registry.sources.get(definition.key, "?")
            _record(registry, PluginProblem(source, "duplicate", f"{label} is already provided by {other}"))
            continue
        registry.definitions[definition.key] = definition
        registry.sources[definition.key] = source


def _record(registry: Registry, problem: PluginProblem, error: BaseException | None = None) -> None:
    registry.problems.append(problem)
    _log_problem(problem, error)


def _log_problem(problem: PluginProblem, error: BaseException | None = None) -> None:
    logger.warning(
        "questionnaire plugin %r left out at %s: %s",
        problem.source,
        problem.stage,
        problem.message,
        exc_info=(type(error), error, error.__traceback__) if error is not None else None,
    )


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# --- Load checks --------------------------------------------------------------------------------


def definition_problems(definition: Questionnaire) -> list[str]:
    """Everything structurally wrong with a definition; empty when it can be served and scored."""
    problems: list[str] = []
    problems += _metadata_problems(definition)
    item_problems = _item_problems(definition)
    problems += item_problems
    if item_problems:
        return problems  # the remaining checks look items up and would only repeat these
    problems += _scoring_problems(definition)
    problems += _subscale_problems(definition)
    problems += _band_problems(definition)
    problems += _norm_curve_problems(definition)
    problems += _alert_problems(definition)
    problems += _translation_problems(definition)
    return problems


def _metadata_problems(definition: Questionnaire) -> list[str]:
    problems = []
    if not isinstance(definition.id, str) or not ID_PATTERN.match(definition.id) or len(definition.id) > 64:
        problems.append(f"id {definition.id!r} is not a lower-case slug of at most 64 characters")
    if not isinstance(definition.version, str) or not VERSION_PATTERN.match(definition.version) \
            or len(definition.version) > 32:
        problems.append(f"version {definition.version!r} is not a semantic version (e.g. 1.0.0)")
    if not isinstance(definition.title, str) or not definition.title.strip() or len(definition.title) > 200:
        problems.append("title must be non-empty text of at most 200 characters")
    if definition.respondent not in ("client", "clinician"):
        problems.append(f"respondent {definition.respondent!r} is not 'client' or 'clinician'")
    for name in ("reference", "license"):
        value = getattr(definition, name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name} is required")
    if definition.construct not in ("alliance", "outcome", "symptom", "goals"):
        problems.append(f"construct {definition.construct!r} is unknown")
    if definition.dynamic_items not in (None, "client_goals"):
        problems.append(f"dynamic_items {definition.dynamic_items!r} is unknown")
    if definition.rated_with is not None and (
        not isinstance(definition.rated_with, str) or definition.rated_with == definition.id
    ):
        problems.append("rated_with must name another questionnaire's id")
    if definition.direction not in ("higher_is_better", "lower_is_better"):
        problems.append(f"direction {definition.direction!r} is unknown")
    if definition.band_cutoff_belongs_to not in ("upper", "lower"):
        problems.append(f"band_cutoff_belongs_to {definition.band_cutoff_belongs_to!r} is not 'upper' or 'lower'")
    if definition.clinical_cutoff is not None and not _is_number(definition.clinical_cutoff):
        problems.append("clinical_cutoff must be a number")
    if definition.clinical_cutoff_comparison not in ("<", "<=", ">", ">="):
        problems.append(f"clinical_cutoff_comparison {definition.clinical_cutoff_comparison!r} is unknown")
    if definition.reliable_change is not None and (
        not _is_number(definition.reliable_change) or definition.reliable_change <= 0
    ):
        problems.append("reliable_change must be a positive number")
    for name in ("code", "total_code"):
        if getattr(definition, name) is not None and not isinstance(getattr(definition, name), Code):
            problems.append(f"{name} must be a contract.Code")
    if definition.score is not None and not callable(definition.score):
        problems.append("score must be a function")
    if definition.score is not None and not definition.examples:
        problems.append("a custom score() needs at least one example to check it at load")
    if not all(isinstance(example, Example) for example in definition.examples):
        problems.append("examples must be contract.Example objects")
    return problems


def _item_problems(definition: Questionnaire) -> list[str]:
    if not isinstance(definition.items, tuple | list) or not definition.items:
        return ["items must be a non-empty tuple of contract.Item"]
    problems = []
    seen: set[str] = set()
    for position, item in enumerate(definition.items, start=1):
        if not isinstance(item, Item):
            problems.append(f"item {position} is not a contract.Item")
            continue
        where = f"item {item.link_id!r}"
        if not isinstance(item.link_id, str) or not item.link_id.strip() or "." in item.link_id:
            problems.append(f"item {position}: linkId must be non-empty text without dots")
        elif item.link_id in seen:
            problems.append(f"{where}: linkId is not unique")
        seen.add(item.link_id)
        if not isinstance(item.label, str) or not item.label.strip():
            problems.append(f"{where}: label is required")
        if item.code is not None and not isinstance(item.code, Code):
            problems.append(f"{where}: code must be a contract.Code")
        if item.type == "choice":
            problems += _option_problems(where, item)
        elif item.type in ("integer", "decimal"):
            problems += _range_problems(where, item)
        else:
            problems.append(f"{where}: type {item.type!r} is not choice, integer or decimal")
    if not any(isinstance(item, Item) and item.scored for item in definition.items) and definition.score is None:
        problems.append("no item is scored")
    return problems


def _option_problems(where: str, item: Item) -> list[str]:
    if not item.options:
        return [f"{where}: a choice item needs options"]
    problems = []
    values = []
    for option in item.options:
        if isinstance(option.value, bool) or not isinstance(option.value, int):
            problems.append(f"{where}: option value {option.value!r} is not an integer")
            continue
        values.append(option.value)
        if not isinstance(option.label, str) or not option.label.strip():
            problems.append(f"{where}: option {option.value} needs a label")
        if option.code is not None and not isinstance(option.code, Code):
            problems.append(f"{where}: option {option.value} code must be a contract.Code")
        if not isinstance(option.also_codes, tuple) or not all(isinstance(c, Code) for c in option.also_codes):
            problems.append(f"{where}: option {option.value} also_codes must be a tuple of contract.Code")
    if len(set(values)) != len(values):
        problems.append(f"{where}: option values are not unique")
    codes = [
        (code.system, code.code)
        for option in item.options
        for code in (option.code, *(option.also_codes if isinstance(option.also_codes, tuple) else ()))
        if isinstance(code, Code)
    ]
    if len(set(codes)) != len(codes):
        problems.append(f"{where}: an answer code names two options")
    return problems


def _range_problems(where: str, item: Item) -> list[str]:
    if not all(_is_number(value) for value in (item.min, item.max, item.step)):
        return [f"{where}: {item.type} items need numeric min, max and step"]
    problems = []
    if not item.min < item.max:  # type: ignore[operator]
        problems.append(f"{where}: min must be below max")
    if not item.step > 0:  # type: ignore[operator]
        problems.append(f"{where}: step must be positive")
    if item.type == "integer" and any(Decimal(value) % 1 for value in (item.min, item.max, item.step)):  # type: ignore[arg-type]
        problems.append(f"{where}: an integer item needs whole-number min, max and step")
    return problems


def _scoring_problems(definition: Questionnaire) -> list[str]:
    scoring = definition.scoring
    if not isinstance(scoring, Scoring):
        return ["scoring must be a contract.Scoring"]
    problems = []
    scored = [item for item in definition.items if item.scored]
    scored_ids = {item.link_id for item in scored}
    if scoring.method not in ("sum", "mean"):
        problems.append(f"scoring method {scoring.method!r} is not sum or mean")
    for link_id in scoring.reverse:
        if link_id not in scored_ids:
            problems.append(f"reverse-keyed item {link_id!r} is not a scored item")
    if scoring.missing not in ("reject", "prorate"):
        problems.append(f"missing-item rule {scoring.missing!r} is not reject or prorate")
    elif scoring.missing == "prorate" and not (
        isinstance(scoring.max_missing, int) and 1 <= scoring.max_missing < max(len(scored), 1)
    ):
        problems.append("prorate needs max_missing between 1 and one less than the number of scored items")
    if scoring.decimals is not None and (not isinstance(scoring.decimals, int) or scoring.decimals < 0):
        problems.append("decimals must be None or a non-negative integer")
    if len(set(scoring.extras)) != len(scoring.extras) or any(extra not in ("mean", "sum") for extra in scoring.extras):
        problems.append(f"extras {scoring.extras!r} must be distinct names from mean, sum")
    if not (_is_number(scoring.total_min) and _is_number(scoring.total_max)):
        return [*problems, "total_min and total_max must be numbers"]
    if not scoring.total_min < scoring.total_max:
        problems.append("total_min must be below total_max")
    if definition.score is None and scored and scoring.method in ("sum", "mean"):
        low = sum((Decimal(str(item.min_value)) for item in scored), Decimal(0))
        high = sum((Decimal(str(item.max_value)) for item in scored), Decimal(0))
        if scoring.method == "mean":
            low, high = low / len(scored), high / len(scored)
        if low != scoring.total_min or high != scoring.total_max:
            problems.append(
                f"declared total range {scoring.total_min}..{scoring.total_max} does not match the items' "
                f"{scoring.method} range {low.normalize():f}..{high.normalize():f}"
            )
    return problems


def _subscale_problems(definition: Questionnaire) -> list[str]:
    problems = []
    scored_ids = {item.link_id for item in definition.items if item.scored}
    names: set[str] = set()
    for subscale in definition.subscales:
        if not isinstance(subscale, Subscale):
            problems.append("subscales must be contract.Subscale objects")
            continue
        if not subscale.name or subscale.name in names:
            problems.append(f"subscale name {subscale.name!r} is empty or not unique")
        names.add(subscale.name)
        if not subscale.items:
            problems.append(f"subscale {subscale.name!r} has no items")
        for link_id in subscale.items:
            if link_id not in scored_ids:
                problems.append(f"subscale {subscale.name!r} names {link_id!r}, which is not a scored item")
        if subscale.method not in ("sum", "mean"):
            problems.append(f"subscale {subscale.name!r} method {subscale.method!r} is not sum or mean")
    return problems


def _band_problems(definition: Questionnaire) -> list[str]:
    if not definition.bands:
        return []
    if not all(
        isinstance(band, Band) and _is_number(band.lower) and _is_number(band.upper) for band in definition.bands
    ):
        return ["bands must be contract.Band objects with numeric lower and upper"]
    problems = []
    names = [band.name for band in definition.bands]
    if len(set(names)) != len(names) or not all(names):
        problems.append("band names must be non-empty and unique")
    bands = sorted(definition.bands, key=lambda band: band.lower)
    for band in bands:
        if not band.lower < band.upper:
            problems.append(f"band {band.name!r}: lower {band.lower} is not below upper {band.upper}")
    for below, above in zip(bands, bands[1:], strict=False):
        if above.lower < below.upper:
            problems.append(f"bands {below.name!r} and {above.name!r} overlap")
        elif above.lower > below.upper:
            problems.append(
                f"gap between bands {below.name!r} (to {below.upper}) and {above.name!r} (from {above.lower})"
            )
    scoring = definition.scoring
    if bands[0].lower != scoring.total_min or bands[-1].upper != scoring.total_max:
        problems.append(
            f"bands span {bands[0].lower}..{bands[-1].upper}, not the total range "
            f"{scoring.total_min}..{scoring.total_max}"
        )
    return problems


def _norm_curve_problems(definition: Questionnaire) -> list[str]:
    """A published expected-change curve names one of the instrument's bands once, with numbers and a source."""
    curves = definition.norm_curves
    if not curves:
        return []
    if not isinstance(curves, tuple) or not all(isinstance(curve, NormCurve) for curve in curves):
        return ["norm_curves must be a tuple of contract.NormCurve objects"]
    problems = []
    band_names = {band.name for band in definition.bands}
    seen: set[str] = set()
    for curve in curves:
        where = f"norm curve {curve.band!r}"
        if curve.band not in band_names:
            problems.append(f"{where}: not one of the questionnaire's bands")
        if curve.band in seen:
            problems.append(f"{where}: declared twice")
        seen.add(curve.band)
        if not all(_is_number(value) for value in (curve.intercept, curve.slope, curve.tolerance)):
            problems.append(f"{where}: intercept, slope and tolerance must be numbers")
        elif curve.tolerance < 0:
            problems.append(f"{where}: tolerance must not be negative")
        if not isinstance(curve.n_episodes, int) or curve.n_episodes < 1:
            problems.append(f"{where}: n_episodes must be a positive integer (the published sample)")
        if not isinstance(curve.max_session, int) or curve.max_session < 2:
            problems.append(f"{where}: max_session must be an integer of at least 2")
        if not isinstance(curve.reference, str) or not curve.reference.strip():
            problems.append(f"{where}: the publication it comes from is required (reference)")
    return problems


def _alert_problems(definition: Questionnaire) -> list[str]:
    problems = []
    item_ids = {item.link_id for item in definition.items}
    subscale_names = {subscale.name for subscale in definition.subscales}
    for rule in definition.alert_rules:
        if not isinstance(rule, AlertRule):
            problems.append("alert_rules must be contract.AlertRule objects")
            continue
        where = f"alert {rule.flag!r}"
        if not isinstance(rule.flag, str) or not rule.flag:
            problems.append("an alert rule needs a flag name")
        if rule.comparison not in ("<", "<=", ">", ">="):
            problems.append(f"{where}: comparison {rule.comparison!r} is unknown")
        if not _is_number(rule.threshold):
            problems.append(f"{where}: threshold must be a number")
        if rule.priority not in ("low", "normal", "high"):
            problems.append(f"{where}: priority {rule.priority!r} is unknown")
        if not rule.raters or any(rater not in ("client", "clinician") for rater in rule.raters):
            problems.append(f"{where}: raters must name 'client' and/or 'clinician'")
        if rule.on == "any_item":
            problems += [
                f"{where}: item {link_id!r} does not exist" for link_id in rule.items if link_id not in item_ids
            ]
        elif rule.on == "subscale":
            if len(rule.items) != 1 or rule.items[0] not in subscale_names:
                problems.append(f"{where}: items must name exactly one subscale of this questionnaire")
        elif rule.on != "total":
            problems.append(f"{where}: on {rule.on!r} is not total, any_item or subscale")
    return problems


def _translation_problems(definition: Questionnaire) -> list[str]:
    if not isinstance(definition.translations, Mapping):
        return ["translations must map language codes to contract.Translation"]
    problems = []
    item_ids = {item.link_id for item in definition.items}
    for language, translation in definition.translations.items():
        if not isinstance(language, str) or not isinstance(translation, Translation):
            problems.append(f"translation {language!r} is not a contract.Translation")
            continue
        unknown = (set(translation.labels) | set(translation.texts)) - item_ids
        if unknown:
            problems.append(f"translation {language!r} names unknown items {sorted(unknown)}")
    return problems


def example_problems(definition: Questionnaire) -> list[str]:
    """Each example's answers must validate and score exactly as declared.

    Exceptions other than ScoringError are plugin faults and propagate to the load boundary.
    """
    from questionnaires.scoring import score_answers
    from questionnaires.validation import validate_answers

    problems = []
    for number, example in enumerate(definition.examples, start=1):
        where = f"example {number} ({example.description})" if example.description else f"example {number}"
        answers, answer_problems = validate_answers(definition, example.answers)
        if answer_problems:
            details = ", ".join(f"{problem.field} {problem.message}" for problem in answer_problems)
            problems.append(f"{where}: invalid answers: {details}")
            continue
        try:
            score = score_answers(definition, answers)
        except ScoringError as error:
            problems.append(f"{where}: not scoreable: {error}")
            continue
        mismatches = []
        if score.total != example.total:
            mismatches.append(f"total {score.total} (declared {example.total})")
        if score.band != example.band:
            mismatches.append(f"band {score.band!r} (declared {example.band!r})")
        if sorted(score.flags) != sorted(example.flags):
            mismatches.append(f"flags {list(score.flags)} (declared {list(example.flags)})")
        for kind, declared, actual in (
            ("subscale", example.subscales, score.subscales),
            ("extra", example.extras, score.extras),
        ):
            for name, expected in declared.items():
                if actual.get(name) != expected:
                    mismatches.append(f"{kind} {name} {actual.get(name)} (declared {expected})")
        if mismatches:
            problems.append(f"{where} scores {', '.join(mismatches)}")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool) and (
        not isinstance(value, Decimal) or value.is_finite()
    )


# --- The process-wide registry ----------------------------------------------------------------------

_registry: Registry | None = None
_build_lock = threading.Lock()


def build_registry(
    *,
    builtin_modules: Iterable[str] | None = None,
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
    exclude: Iterable[str] | None = None,
    autoload: bool | None = None,
) -> Registry:
    """Load the plugins the settings name (or the given overrides) and install the result for this process.

    Called from AppConfig.ready(); touches no database. Text-pack files that cannot be used are
    reported alongside failed plugins.
    """
    global _registry
    from django.conf import settings

    from questionnaires.text_packs import current_text_packs

    if builtin_modules is None:
        builtin_modules = _builtin_modules()
    registry = load_registry(
        builtin_modules=builtin_modules,
        entry_points=entry_points,
        exclude=getattr(settings, "QUESTIONNAIRE_PLUGINS_EXCLUDE", ()) if exclude is None else exclude,
        autoload=getattr(settings, "QUESTIONNAIRE_PLUGINS_AUTOLOAD", True) if autoload is None else autoload,
    )
    for pack_problem in current_text_packs().problems:
        _record(registry, PluginProblem(pack_problem.path, "text-pack", pack_problem.message))
    with _build_lock:
        _registry = registry
    logger.debug(
        "questionnaire registry: %d definitions loaded, %d problems", len(registry.definitions), len(registry.problems)
    )
    return registry


def _builtin_modules() -> list[str]:
    try:
        import plugins
    except Exception:  # plugin boundary: the built-in package itself failing must not stop the service
        logger.exception("cannot import the built-in plugins package")
        return []
    return list(getattr(plugins, "BUILTIN_PLUGINS", []))


def get_registry() -> Registry:
    """The registry of this process, built on first use if AppConfig.ready() has not built it."""
    registry = _registry
    if registry is None:
        registry = build_registry()
    return registry


def sync_versions_after_migrate(*, using: str | None = None, **kwargs: Any) -> None:
    """The post_migrate receiver: rows for every loaded definition as soon as the table exists.

    Also after a test-database flush, which deletes the rows this process had cached.
    """
    from django.db import DEFAULT_DB_ALIAS, connections

    from questionnaires.models import QuestionnaireVersion

    using = using or DEFAULT_DB_ALIAS
    if QuestionnaireVersion._meta.db_table not in connections[using].introspection.table_names():
        return  # migrated backwards past the table
    get_registry().sync_versions(using=using, refresh=True)


def set_registry(registry: Registry) -> Registry:
    """Install `registry` as this process's registry and return the previous one (for tests)."""
    global _registry
    with _build_lock:
        previous, _registry = _registry, registry
    return previous  # type: ignore[return-value]
