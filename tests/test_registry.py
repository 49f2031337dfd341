"""The registry: discovery from built-ins and entry points, exclusion, lookup by semver, and version rows."""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps

from plugins import BUILTIN_PLUGINS
from questionnaires.definitions import content_hash, definition_as_dict
from questionnaires.models import QuestionnaireVersion
from questionnaires.registry import (
    ENTRY_POINT_GROUP,
    Registry,
    build_registry,
    get_registry,
    load_registry,
    set_registry,
    sync_versions_after_migrate,
    version_sort_key,
)
from tests.broken_plugins.good import make_definition

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PLUGIN = ROOT / "examples" / "plugin-example"
GOOD = "tests.broken_plugins.good"


def entry_point(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


@pytest.fixture
def restore_global_registry():
    previous = get_registry()
    yield
    set_registry(previous)


def registry_of(*definitions) -> Registry:
    return Registry(definitions={definition.key: definition for definition in definitions})


def test_versions_sort_by_number_with_pre_releases_below_their_release():
    versions = ["1.10.0", "1.2.0", "1.10.0-rc.1", "1.9.9", "2.0.0-alpha", "1.10.0-beta.2", "1.10.0-beta.10"]
    assert sorted(versions, key=version_sort_key) == [
        "1.2.0", "1.9.9", "1.10.0-beta.2", "1.10.0-beta.10", "1.10.0-rc.1", "1.10.0", "2.0.0-alpha",
    ]


def test_get_without_a_version_returns_the_highest_version():
    registry = registry_of(*(make_definition(version=version) for version in ("1.9.0", "1.10.0", "1.10.1-rc.1")))
    assert registry.get("tiny-check").version == "1.10.1-rc.1", "semver: 1.10.1-rc.1 is above 1.10.0"
    registry = registry_of(*(make_definition(version=version) for version in ("1.9.0", "1.10.0", "1.10.0-rc.1")))
    assert registry.get("tiny-check").version == "1.10.0"
    assert registry.get("tiny-check", "1.9.0").version == "1.9.0"
    assert registry.get("tiny-check", "3.0.0") is None
    assert registry.get("nothing") is None


def test_all_orders_by_id_then_version_and_latest_keeps_one_per_id():
    registry = registry_of(
        make_definition(version="1.10.0"), make_definition(version="1.2.0"), make_definition(id="alpha"),
    )
    assert [definition.key for definition in registry.all()] == [
        ("alpha", "1.0.0"), ("tiny-check", "1.2.0"), ("tiny-check", "1.10.0"),
    ]
    assert [definition.key for definition in registry.latest()] == [("alpha", "1.0.0"), ("tiny-check", "1.10.0")]


def test_it_loads_built_in_modules_and_records_their_source():
    registry = load_registry(builtin_modules=[GOOD], entry_points=[], autoload=False)
    assert registry.problems == []
    assert [definition.key for definition in registry.all()] == [("tiny-check", "1.0.0"), ("tiny-check", "1.1.0-rc.1")]
    assert registry.source_of(registry.get("tiny-check")) == GOOD


def test_it_loads_entry_points_pointing_at_a_module_or_at_the_tuple():
    registry = load_registry(
        builtin_modules=[],
        entry_points=[
            entry_point("tiny", GOOD), entry_point("other", "tests.broken_plugins.other_good:QUESTIONNAIRES"),
        ],
    )
    assert registry.problems == []
    assert registry.source_of(registry.get("other-check")) == "tests.broken_plugins.other_good:QUESTIONNAIRES"
    assert registry.get("tiny-check", "1.0.0") is not None


def test_autoload_off_loads_no_entry_point():
    registry = load_registry(builtin_modules=[], entry_points=[entry_point("tiny", GOOD)], autoload=False)
    assert registry.all() == [] and registry.problems == []


def test_a_built_in_also_published_as_an_entry_point_is_loaded_once():
    registry = load_registry(builtin_modules=[GOOD], entry_points=[entry_point("tiny", GOOD)])
    assert registry.problems == [] and len(registry.all()) == 2


@pytest.mark.parametrize("name", ["tests.broken_plugins.other_good", "other", "other-check"])
def test_the_exclude_list_takes_a_source_an_entry_point_name_or_a_questionnaire_id(name):
    registry = load_registry(
        builtin_modules=[GOOD], entry_points=[entry_point("other", "tests.broken_plugins.other_good")], exclude=[name]
    )
    assert registry.get("other-check") is None
    assert registry.get("tiny-check") is not None
    assert registry.problems == []


def test_excluding_a_built_in_module_skips_its_import():
    registry = load_registry(builtin_modules=["tests.broken_plugins.import_error", GOOD],
                             exclude=["tests.broken_plugins.import_error"], autoload=False)
    assert registry.problems == []


def test_the_built_ins_load_without_problems():
    registry = load_registry(builtin_modules=BUILTIN_PLUGINS, entry_points=[], autoload=False)
    assert registry.problems == []
    assert {definition.id for definition in registry.all()} == {
        "wai-sr", "wai-s", "srs", "ors", "haq-ii", "phq-9", "gad-7", "core-10", "gbo",
    }


def test_build_registry_reads_the_settings_and_installs_the_result(settings, restore_global_registry):
    settings.QUESTIONNAIRE_PLUGINS_EXCLUDE = ["phq-9", "plugins.gad_7"]
    settings.QUESTIONNAIRE_PLUGINS_AUTOLOAD = False
    built = build_registry()
    assert get_registry() is built
    assert built.get("phq-9") is None and built.get("gad-7") is None
    assert built.get("wai-sr") is not None


def test_a_broken_text_pack_is_reported_with_the_plugins(settings, tmp_path, restore_global_registry):
    pack = tmp_path / "pack.json"
    pack.write_text("[]")
    settings.QUESTIONNAIRE_TEXT_PACKS = [str(pack)]
    built = build_registry(builtin_modules=[], autoload=False)
    assert [(problem.source, problem.stage) for problem in built.problems] == [(str(pack), "text-pack")]


def test_app_ready_builds_the_registry_without_touching_the_database(restore_global_registry):
    """No `db` fixture here: pytest-django fails any query, so this proves ready() makes none."""
    apps.get_app_config("questionnaires").ready()
    assert get_registry().get("phq-9") is not None


@pytest.mark.django_db
def test_migrating_synced_a_version_row_for_every_loaded_definition():
    for definition in get_registry().all():
        row = QuestionnaireVersion.objects.get(questionnaire_id=definition.id, version=definition.version)
        assert row.content_hash == content_hash(definition)
        assert row.title == definition.title
        assert row.plugin_source == get_registry().source_of(definition)


@pytest.mark.django_db
def test_version_row_creates_the_row_with_the_definition_as_served():
    registry = load_registry(builtin_modules=[GOOD], autoload=False)
    definition = registry.get("tiny-check", "1.0.0")
    row = registry.version_row(definition)
    assert (row.questionnaire_id, row.version, row.plugin_source) == ("tiny-check", "1.0.0", GOOD)
    assert row.content_hash == content_hash(definition)
    assert row.definition["items"] == definition_as_dict(definition)["items"]
    assert QuestionnaireVersion.objects.filter(questionnaire_id="tiny-check").count() == 2


@pytest.mark.django_db
def test_rows_created_inside_an_uncommitted_transaction_are_not_cached(django_assert_max_num_queries):
    registry = load_registry(builtin_modules=[GOOD], autoload=False)
    definition = registry.get("tiny-check", "1.0.0")
    first = registry.version_row(definition)
    with django_assert_max_num_queries(5) as captured:
        again = registry.version_row(definition)
    assert len(captured) >= 1, "the row might yet be rolled back, so it is read again"
    assert again.pk == first.pk


@pytest.mark.django_db(transaction=True)
def test_version_rows_are_cached_once_committed(django_assert_num_queries):
    registry = load_registry(builtin_modules=[GOOD], autoload=False)
    definition = registry.get("tiny-check", "1.0.0")
    first = registry.version_row(definition)
    with django_assert_num_queries(0):
        assert registry.version_row(definition).pk == first.pk


@pytest.mark.django_db
def test_the_post_migrate_sync_refreshes_the_global_cache_with_real_rows():
    sync_versions_after_migrate(using="default")
    for definition in get_registry().all():
        row = get_registry().version_row(definition)
        assert QuestionnaireVersion.objects.filter(pk=row.pk, content_hash=content_hash(definition)).exists()


@pytest.mark.django_db
def test_an_unregistered_definition_still_gets_a_verified_row():
    definition = make_definition(id="adhoc")
    row = get_registry().version_row(definition)
    assert row.questionnaire_id == "adhoc" and row.content_hash == content_hash(definition)


# --- The third-party example package, installed for real ------------------------------------------------


@pytest.fixture(scope="session")
def example_plugin_installed(tmp_path_factory) -> None:
    """pip-installs examples/plugin-example into this interpreter unless it is there already.

    Built from a copy, since a non-isolated setuptools build writes build/ and *.egg-info next to
    the sources it builds.
    """
    try:
        importlib.metadata.distribution("alliance-example-plugin")
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    copy = tmp_path_factory.mktemp("example") / "plugin-example"
    shutil.copytree(EXAMPLE_PLUGIN, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         str(copy)],
        check=True,
        timeout=300,
    )
    importlib.invalidate_caches()


def test_the_installed_example_plugin_is_discovered_through_its_entry_point(example_plugin_installed):
    names = {entry_point.name for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert "example-mood" in names
    registry = load_registry(builtin_modules=[], autoload=True)
    definition = registry.get("example-mood")
    assert definition is not None, registry.problems
    assert registry.source_of(definition) == "alliance_example_plugin"
    assert [item["linkId"] for item in definition_as_dict(definition)["items"]] == ["1", "2", "3"]


@pytest.mark.parametrize("name", ["example-mood", "alliance_example_plugin", "alliance-example-plugin"])
def test_the_exclude_setting_removes_the_example_plugin(example_plugin_installed, settings, restore_global_registry,
                                                        name):
    settings.QUESTIONNAIRE_PLUGINS_EXCLUDE = [name]
    assert build_registry().get("example-mood") is None
    settings.QUESTIONNAIRE_PLUGINS_EXCLUDE = []
    assert build_registry().get("example-mood") is not None


def test_autoload_off_leaves_the_example_plugin_out(example_plugin_installed, settings, restore_global_registry):
    settings.QUESTIONNAIRE_PLUGINS_AUTOLOAD = False
    assert build_registry().get("example-mood") is None
    assert get_registry().get("phq-9") is not None
