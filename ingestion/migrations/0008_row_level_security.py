from django.db import migrations

from cleanroom import rls


class Migration(migrations.Migration):
    """Row-level security on this app's tenant tables (cleanroom/rls.py)."""

    dependencies = [
        ("ingestion", "0007_chunk_language"),
        ("tenants", "0005_database_role"),
    ]

    operations = [
        migrations.RunSQL(
            rls.policy_sql("ingestion_document"), reverse_sql=rls.policy_reverse_sql("ingestion_document")
        ),
        migrations.RunSQL(rls.policy_sql("ingestion_chunk"), reverse_sql=rls.policy_reverse_sql("ingestion_chunk")),
        migrations.RunSQL(
            rls.policy_sql("ingestion_valuefinding"), reverse_sql=rls.policy_reverse_sql("ingestion_valuefinding")
        ),
        migrations.RunSQL(
            rls.policy_sql("ingestion_reviewitem"), reverse_sql=rls.policy_reverse_sql("ingestion_reviewitem")
        ),
    ]
