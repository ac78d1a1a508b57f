from django.db import migrations

from cleanroom import rls


class Migration(migrations.Migration):
    """Row-level security on this app's tenant tables (cleanroom/rls.py)."""

    dependencies = [
        ("vault", "0002_valuefinding_to_ingestion"),
        ("tenants", "0005_database_role"),
    ]

    operations = [
        migrations.RunSQL(rls.policy_sql("vault_vaultentry"), reverse_sql=rls.policy_reverse_sql("vault_vaultentry")),
        migrations.RunSQL(
            rls.policy_sql("vault_erasurereceipt"), reverse_sql=rls.policy_reverse_sql("vault_erasurereceipt")
        ),
    ]
