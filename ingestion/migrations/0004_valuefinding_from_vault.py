# ValueFinding moved from the vault (the core) to ingestion, beside the documents it points at: the core no
# longer knows ingestion's models. The table is kept (state-only create) and then renamed; no row is copied.

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0003_region_store_fks"),
        ("tenants", "0001_initial"),
        ("vault", "0001_vault_findings_erasure"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ValueFinding",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("entity_type", models.CharField(max_length=40)),
                        ("action", models.CharField(max_length=16)),
                        ("value_hash", models.CharField(max_length=64)),
                        ("token", models.CharField(blank=True, max_length=64)),
                        (
                            "chunk_ids",
                            django.contrib.postgres.fields.ArrayField(
                                base_field=models.BigIntegerField(), blank=True, default=list, size=None
                            ),
                        ),
                        (
                            "document",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="ingestion.document"
                            ),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="tenants.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "vault_valuefinding",
                        "indexes": [models.Index(fields=["tenant", "value_hash"], name="valuefinding_tenant_hash")],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("document", "entity_type", "value_hash"), name="valuefinding_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="valuefinding", table=None),
    ]
