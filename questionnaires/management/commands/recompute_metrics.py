"""`manage.py recompute_metrics`: rebuild every metric rollup from the scores in one GROUP BY."""

from django.core.management.base import BaseCommand

from questionnaires.services.metrics import metrics_recompute


class Command(BaseCommand):
    help = (
        "Rebuild the clinic-wide metric rollups from scratch (one GROUP BY over the scores). "
        "The numbers equal what the incremental workers keep; run it after restoring a backup "
        "or changing a plugin's cut-off."
    )

    def handle(self, *args, **options) -> None:
        cells = metrics_recompute()
        self.stdout.write(f"recomputed {cells} rollup cells")
