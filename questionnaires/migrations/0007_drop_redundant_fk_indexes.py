# Single-column foreign-key indexes whose column already leads a composite index: each was written by every
# insert and status update and never chosen over the composite one.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('questionnaires', '0006_score_in_rollups'),
    ]

    operations = [
        migrations.AlterField(
            model_name='alert',
            name='clinic',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='questionnaires.clinic'),
        ),
        migrations.AlterField(
            model_name='alert',
            name='response',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='questionnaires.response'),
        ),
        migrations.AlterField(
            model_name='response',
            name='client',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='responses', to='questionnaires.therapyclient'),
        ),
        migrations.AlterField(
            model_name='response',
            name='clinic',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='responses', to='questionnaires.clinic'),
        ),
        migrations.AlterField(
            model_name='score',
            name='response',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='scores', to='questionnaires.response'),
        ),
    ]
