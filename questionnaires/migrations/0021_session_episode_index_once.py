"""CareSession.episode loses its own index: `session_episode_start_idx` (episode, scheduled_start) serves
every lookup by episode, and the second index only slowed the session batch's inserts.

Only the index is dropped (found by introspection, its name being Django's hash): letting Django
alter the field would drop and re-add the foreign key on PostgreSQL, which re-checks every stored
session under an exclusive lock, and rebuild the table on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models


def _drop_episode_index(apps, schema_editor):
    session = apps.get_model("questionnaires", "CareSession")
    table = session._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    for name, info in constraints.items():
        if info["columns"] == ["episode_id"] and info["index"] and not info["unique"] and not info["primary_key"]:
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def _add_episode_index(apps, schema_editor):
    session = apps.get_model("questionnaires", "CareSession")
    field = session._meta.get_field("episode")
    schema_editor.execute(schema_editor._create_index_sql(session, fields=[field]))


class Migration(migrations.Migration):

    dependencies = [
        ("questionnaires", "0020_course_of_care_backfill"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="caresession",
                    name="episode",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="sessions",
                        to="questionnaires.episodeofcare",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(_drop_episode_index, _add_episode_index)],
        ),
    ]
