"""The broken-plugin suite: each way a plugin can fail is reported by name, and the other plugins are still served."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from questionnaires.contract import Band
from questionnaires.models import QuestionnaireVersion
from questionnaires.registry import DefinitionChanged, Registry, load_registry
from tests.broken_plugins.good import make_definition

ROOT = Path(__file__).resolve().parent.parent
GOOD = "tests.broken_plugins.good"
OTHER_GOOD = "tests.broken_plugins.other_good"


def load(*modules: str) -> Registry:
    return load_registry(builtin_modules=[GOOD, *modules, OTHER_GOOD], entry_points=[], exclude=[], autoload=False)


def assert_good_ones_still_served(registry: Registry) -> None:
    assert registry.get("tiny-check", "1.0.0") is not None
    assert registry.get("other-check") is not None


def only_problem(registry: Registry):
    assert len(registry.problems) == 1, registry.problems
    return registry.problems[0]


def test_a_plugin_that_raises_on_import_is_reported_and_the_others_are_served(caplog):
    with caplog.at_level(logging.WARNING, logger="questionnaires.registry"):
        registry = load("tests.broken_plugins.import_error")
    problem = only_problem(registry)
    assert (problem.source, problem.stage) == ("tests.broken_plugins.import_error", "import")
    assert "RuntimeError: this plugin cannot be imported" in problem.message
    assert_good_ones_still_served(registry)
    record = next(record for record in caplog.records if "tests.broken_plugins.import_error" in record.getMessage())
    assert record.levelno == logging.WARNING
    assert record.exc_info is not None, "the traceback is logged with the startup line"


def test_a_plugin_calling_sys_exit_on_import_does_not_stop_the_process():
    registry = load("tests.broken_plugins.calls_exit")
    problem = only_problem(registry)
    assert (problem.source, problem.stage) == ("tests.broken_plugins.calls_exit", "import")
    assert "SystemExit" in problem.message
    assert_good_ones_still_served(registry)


def test_a_duplicate_id_and_version_leaves_the_later_one_out():
    registry = load("tests.broken_plugins.duplicate_id")
    problem = only_problem(registry)
    assert (problem.source, problem.stage) == ("tests.broken_plugins.duplicate_id", "duplicate")
    assert "tiny-check 1.0.0 is already provided by tests.broken_plugins.good" in problem.message
    assert registry.get("tiny-check", "1.0.0").title == "Tiny check"
    assert_good_ones_still_served(registry)


def test_bad_bands_are_reported_with_the_gap_and_the_range():
    registry = load("tests.broken_plugins.bad_bands")
    problem = only_problem(registry)
    assert (problem.source, problem.stage) == ("tests.broken_plugins.bad_bands", "validation")
    assert "gappy-bands 1.0.0" in problem.message
    assert "gap between bands 'low' (to 4) and 'high' (from 5)" in problem.message
    assert "bands span 0..8, not the total range 0..9" in problem.message
    assert registry.get("gappy-bands") is None
    assert_good_ones_still_served(registry)


def test_a_score_function_that_raises_is_reported_at_the_examples_stage(caplog):
    with caplog.at_level(logging.WARNING, logger="questionnaires.registry"):
        registry = load("tests.broken_plugins.raising_score")
    problem = only_problem(registry)
    assert (problem.source, problem.stage) == ("tests.broken_plugins.raising_score", "examples")
    assert "ZeroDivisionError: custom scoring divided by zero" in problem.message
    assert registry.get("raising-score") is None
    assert any(record.exc_info for record in caplog.records)
    assert_good_ones_still_served(registry)


def test_an_example_that_does_not_score_as_declared_is_reported():
    registry = load("tests.broken_plugins.wrong_example")
    problem = only_problem(registry)
    assert (problem.source, problem.stage) == ("tests.broken_plugins.wrong_example", "examples")
    # 1 + 1 + (3 - 1) = 4, not the declared 3
    assert "example 1 (all ones) scores total 4 (declared 3)" in problem.message
    assert_good_ones_still_served(registry)


def test_an_incompatible_contract_version_is_reported():
    registry = load("tests.broken_plugins.future_contract")
    problem = only_problem(registry)
    assert (problem.source, problem.stage) == ("tests.broken_plugins.future_contract", "contract")
    assert "requires plugin contract version 2; this server provides 1" in problem.message
    assert_good_ones_still_served(registry)


def test_a_module_without_questionnaires_is_reported():
    registry = load("tests.broken_plugins.no_questionnaires")
    problem = only_problem(registry)
    assert (problem.source, problem.stage) == ("tests.broken_plugins.no_questionnaires", "contract")
    assert_good_ones_still_served(registry)


def test_a_missing_module_is_reported():
    registry = load("tests.broken_plugins.does_not_exist")
    assert only_problem(registry).stage == "import"
    assert_good_ones_still_served(registry)


def test_every_broken_plugin_at_once_is_reported_by_name():
    broken = [
        "tests.broken_plugins.import_error",
        "tests.broken_plugins.calls_exit",
        "tests.broken_plugins.duplicate_id",
        "tests.broken_plugins.bad_bands",
        "tests.broken_plugins.raising_score",
        "tests.broken_plugins.wrong_example",
        "tests.broken_plugins.future_contract",
    ]
    registry = load(*broken)
    assert [problem.source for problem in registry.problems] == broken
    assert sorted(registry.definitions) == [
        ("other-check", "2.0.0"), ("tiny-check", "1.0.0"), ("tiny-check", "1.1.0-rc.1"),
    ]


@pytest.mark.django_db
def test_a_definition_changed_under_the_same_version_is_left_out_and_its_row_kept():
    first = load()
    first.sync_versions()
    row = QuestionnaireVersion.objects.get(questionnaire_id="tiny-check", version="1.0.0")
    stored = (row.content_hash, row.definition, row.title)

    changed = make_definition(bands=(Band("low", Decimal(0), Decimal(4)), Band("high", Decimal(4), Decimal(9))))
    registry = load_registry(builtin_modules=[OTHER_GOOD], entry_points=[], autoload=False)
    registry.definitions[changed.key] = changed
    registry.sources[changed.key] = "tests.changed_plugin"
    found = registry.sync_versions()

    assert [(problem.source, problem.stage) for problem in found] == [("tests.changed_plugin", "version")]
    assert "tiny-check 1.0.0 differs from the definition stored for that version" in found[0].message
    assert registry.get("tiny-check") is None
    assert registry.get("other-check") is not None
    with pytest.raises(DefinitionChanged):
        registry.version_row(changed)
    row.refresh_from_db()
    assert (row.content_hash, row.definition, row.title) == stored


@pytest.mark.django_db
def test_a_changed_definition_is_caught_lazily_on_first_use():
    load().sync_versions()
    changed = replace(make_definition(), scoring=replace(make_definition().scoring, reverse=()))
    registry = Registry(definitions={changed.key: changed}, sources={changed.key: "tests.changed_plugin"})
    with pytest.raises(DefinitionChanged, match="needs a new version number"):
        registry.version_row(changed)
    assert registry.problems[-1].stage == "version"
    assert registry.all() == []


def fake_distribution(tmp_path: Path, module: str) -> Path:
    """A dist-info directory announcing `module` in the entry-point group, as pip would install it."""
    dist_info = tmp_path / "broken_example-0.0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-example\nVersion: 0.0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[alliance_api.questionnaires]\nbroken-example = {module}\n")
    return tmp_path


def run_manage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(fake_distribution(tmp_path, "tests.broken_plugins.import_error")), str(ROOT)]
        ),
        "QUESTIONNAIRE_PLUGINS_AUTOLOAD": "1",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_broken_third_party_plugin_does_not_stop_django_starting(tmp_path):
    result = run_manage(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert "questionnaires.W001" in result.stderr
    assert "tests.broken_plugins.import_error" in result.stderr
    assert "left out at import" in result.stderr


def test_plugins_check_fails_on_a_broken_third_party_plugin(tmp_path):
    result = run_manage(tmp_path, "plugins", "--check", "--no-versions")
    assert result.returncode == 1
    assert "tests.broken_plugins.import_error" in result.stdout
    assert "phq-9" in result.stdout, "the built-ins are still loaded"
