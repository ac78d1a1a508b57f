import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

from retrieval.migrations._lexical_sql import BACKFILL, FUNCTIONS, REVERSE


def create_term_index(apps, schema_editor):
    # With btree_gin one GIN index answers "this tenant's chunks containing any of these terms" directly; without
    # it (a PostgreSQL lacking contrib) the planner combines the term index with the tenant's B-tree index.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin'")
        if cursor.fetchone():
            cursor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
            columns = "tenant_id, lexemes"
        else:
            columns = "lexemes"
        cursor.execute(f"CREATE INDEX retrieval_chunkterms_gin ON retrieval_chunkterms USING gin ({columns})")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("ingestion", "0003_region_store_fks"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChunkTerms",
            fields=[
                (
                    "chunk",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="ingestion.chunk",
                    ),
                ),
                (
                    "lexemes",
                    django.contrib.postgres.search.SearchVectorField(
                        help_text="Stripped tsvector, for GIN candidate search."
                    ),
                ),
                ("tf", models.JSONField(help_text="Term frequency per lexeme.")),
                (
                    "length",
                    models.PositiveIntegerField(help_text="Number of indexed (non-stop-word) tokens."),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="TenantLexicon",
            fields=[
                (
                    "tenant",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="tenants.tenant",
                    ),
                ),
                ("chunks", models.BigIntegerField(default=0)),
                ("total_length", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="TenantTerm",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "tenant", "term", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("term", models.TextField()),
                ("df", models.BigIntegerField()),
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
        ),
        migrations.RunPython(create_term_index, migrations.RunPython.noop),
        migrations.RunSQL(FUNCTIONS, REVERSE),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
