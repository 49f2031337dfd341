"""The rollup ledger becomes a flag on the counted score.

A ledger row per counted response made a full recompute insert (or probe) one row per response
ever scored; the flag with a partial index leaves only the not-yet-counted scores to touch.
Existing ledger rows carry over as flags, and back again on reverse.
"""

from django.db import migrations, models


def ledger_to_flags(apps, schema_editor):
    RollupEntry = apps.get_model("questionnaires", "RollupEntry")
    Score = apps.get_model("questionnaires", "Score")
    Score.objects.filter(
        response_id__in=RollupEntry.objects.values("response_id"),
        plugin_version=models.F("response__questionnaire_version__version"),
    ).update(in_rollups=True)


def flags_to_ledger(apps, schema_editor):
    RollupEntry = apps.get_model("questionnaires", "RollupEntry")
    Score = apps.get_model("questionnaires", "Score")
    RollupEntry.objects.bulk_create(
        (RollupEntry(response_id=response_id)
         for response_id in Score.objects.filter(in_rollups=True).values_list("response_id", flat=True).iterator()),
        batch_size=5000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("questionnaires", "0005_credential_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="score",
            name="in_rollups",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Added to the metric rollups: set once, by the task that adds it or by a full recompute.",
            ),
        ),
        migrations.RunPython(ledger_to_flags, flags_to_ledger),
        migrations.AddIndex(
            model_name="score",
            index=models.Index(
                condition=models.Q(("in_rollups", False)), fields=["response"], name="score_not_in_rollups_idx"
            ),
        ),
        migrations.DeleteModel(
            name="RollupEntry",
        ),
    ]
