"""`manage.py plugins` and the admin page: loaded definitions and failed plugins, for operators."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from questionnaires.registry import get_registry, load_registry, set_registry

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def broken_registry():
    registry = load_registry(
        builtin_modules=[
            "tests.broken_plugins.good", "tests.broken_plugins.bad_bands", "tests.broken_plugins.import_error",
        ],
        entry_points=[],
        autoload=False,
    )
    previous = set_registry(registry)
    yield registry
    set_registry(previous)


def run_plugins(*args: str) -> str:
    out = StringIO()
    call_command("plugins", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_it_lists_loaded_definitions_with_version_source_and_title():
    output = run_plugins()
    assert f"Failed plugins ({len(get_registry().problems)}):" in output
    for definition in get_registry().all():
        line = next(line for line in output.splitlines() if line.split()[:2] == [definition.id, definition.version])
        assert get_registry().source_of(definition) in line and definition.title in line


@pytest.mark.django_db
def test_it_lists_failed_plugins_with_stage_and_reason(broken_registry):
    output = run_plugins()
    assert "Loaded questionnaires (2):" in output
    assert "Failed plugins (2):" in output
    assert any("tests.broken_plugins.bad_bands" in line and "validation" in line and "gap between bands" in line
               for line in output.splitlines())
    assert any("tests.broken_plugins.import_error" in line and "import" in line for line in output.splitlines())


@pytest.mark.django_db
def test_check_fails_when_a_plugin_failed(broken_registry):
    with pytest.raises(CommandError, match="2 questionnaire plugin problem"):
        run_plugins("--check")


@pytest.mark.django_db
def test_check_passes_when_every_plugin_loaded():
    previous = set_registry(load_registry(builtin_modules=["tests.broken_plugins.good"], autoload=False))
    try:
        assert "Failed plugins (0):" in run_plugins("--check")
    finally:
        set_registry(previous)


def test_no_versions_lists_without_touching_the_database(broken_registry):
    """No `db` fixture: pytest-django would fail any query."""
    assert "tiny-check" in run_plugins("--no-versions")


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
        timeout=120,
    )


def test_the_command_runs_as_a_process_and_exits_zero_when_all_loaded():
    result = manage("plugins", "--check", "--no-versions", QUESTIONNAIRE_PLUGINS_EXCLUDE="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "phq-9" in result.stdout and "plugins.phq_9" in result.stdout


def test_the_exclude_setting_reaches_the_command():
    result = manage("plugins", "--no-versions", QUESTIONNAIRE_PLUGINS_EXCLUDE="phq-9,plugins.gad_7")
    assert result.returncode == 0, result.stderr
    ids = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert "phq-9" not in ids and "gad-7" not in ids and "wai-sr" in ids


# --- The admin page ---------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_user(username="operator", password="pw-for-tests", is_staff=True)
    client.force_login(user)
    return client


def test_the_admin_page_lists_loaded_and_failed_plugins(staff_client, broken_registry):
    response = staff_client.get("/admin/plugins/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "tiny-check" in page and "tests.broken_plugins.good" in page
    assert "tests.broken_plugins.bad_bands" in page and "gap between bands" in page
    assert "tests.broken_plugins.import_error" in page and "RuntimeError: this plugin cannot be imported" in page


def test_the_admin_page_is_for_staff_only(client, db):
    anonymous = client.get("/admin/plugins/")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    user = get_user_model().objects.create_user(username="not-staff", password="pw-for-tests")
    client.force_login(user)
    assert client.get("/admin/plugins/").status_code == 302
