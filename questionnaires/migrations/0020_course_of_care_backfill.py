"""Data from before the course of care: one episode per client with responses and no episode, its responses
grouped into attended sessions, then the rollups rebuilt (`services.care_backfill`, also
`manage.py backfill_course_of_care`). Not atomic: each batch of clients commits on its own, so a
long run that stops resumes where it stopped; the rollups are rebuilt only when a client was changed."""

from django.db import migrations


def backfill(apps, schema_editor):
    from questionnaires.services.care_backfill import care_backfill

    care_backfill(apps=apps)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("questionnaires", "0019_expected_change_curves"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
