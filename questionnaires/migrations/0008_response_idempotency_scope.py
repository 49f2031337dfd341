"""Idempotency keys and FHIR identifiers become unique per caller, not per clinic.

Keyed rows get the scope of the credential that stored them, read from `submitted_by`
("api_key:<prefix>", "client_token:<prefix>", "user:<username>"). Only keyed rows are touched.
"""

from django.conf import settings
from django.db import migrations, models


def scope_keyed_rows(apps, schema_editor):
    Response = apps.get_model("questionnaires", "Response")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    keyed = Response.objects.filter(idempotency_key__isnull=False).only("pk", "submitted_by", "client_id", "source")
    user_ids: dict[str, int] = {}
    for response in keyed.iterator(chunk_size=2000):
        kind, _, name = response.submitted_by.partition(":")
        if kind == "api_key":
            scope = "api_key"
        elif kind == "client_token" or response.source == "form":
            scope = f"client:{response.client_id}"
        elif kind == "user":
            if name not in user_ids:
                user_ids[name] = User.objects.filter(username=name).values_list("pk", flat=True).first() or 0
            scope = f"staff:{user_ids[name]}"
        else:
            continue
        Response.objects.filter(pk=response.pk).update(idempotency_scope=scope)


class Migration(migrations.Migration):

    dependencies = [
        ('questionnaires', '0007_drop_redundant_fk_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='response',
            name='response_idempotency_key_unique_in_clinic',
        ),
        migrations.AddField(
            model_name='response',
            name='idempotency_scope',
            field=models.CharField(blank=True, default='', help_text="The caller whose keys this response's key is unique among (see Principal.idempotency_scope).", max_length=40),
        ),
        migrations.RunPython(scope_keyed_rows, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='response',
            constraint=models.UniqueConstraint(condition=models.Q(('idempotency_key__isnull', False)), fields=('clinic', 'idempotency_scope', 'idempotency_key'), name='response_idempotency_key_unique_per_caller'),
        ),
    ]
