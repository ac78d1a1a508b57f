# ValueFinding now belongs to ingestion (see ingestion/migrations/0004): forget it here, keep its table.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("vault", "0001_vault_findings_erasure"),
        ("ingestion", "0004_valuefinding_from_vault"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ValueFinding")],
            database_operations=[],
        ),
    ]
