from django.db import migrations

from cleanroom import rls


class Migration(migrations.Migration):
    """Row-level security on this app's tenant tables (cleanroom/rls.py)."""

    dependencies = [
        ("audit", "0002_audit_append_only"),
        ("tenants", "0005_database_role"),
    ]

    operations = [
        migrations.RunSQL(rls.policy_sql("audit_auditevent"), reverse_sql=rls.policy_reverse_sql("audit_auditevent")),
    ]
