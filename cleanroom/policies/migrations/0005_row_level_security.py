from django.db import migrations

from cleanroom import rls


class Migration(migrations.Migration):
    """Row-level security on this app's tenant tables (cleanroom/rls.py)."""

    dependencies = [
        ("policies", "0004_entityrule_threshold_help"),
        ("tenants", "0005_database_role"),
    ]

    operations = [
        migrations.RunSQL(
            rls.policy_sql("policies_residencyrule"), reverse_sql=rls.policy_reverse_sql("policies_residencyrule")
        ),
        migrations.RunSQL(
            rls.policy_sql("policies_entityrule"), reverse_sql=rls.policy_reverse_sql("policies_entityrule")
        ),
        migrations.RunSQL(
            rls.policy_sql("policies_allowterm"), reverse_sql=rls.policy_reverse_sql("policies_allowterm")
        ),
        migrations.RunSQL(rls.policy_sql("policies_denyterm"), reverse_sql=rls.policy_reverse_sql("policies_denyterm")),
        migrations.RunSQL(
            rls.policy_sql("policies_customrecognizer"), reverse_sql=rls.policy_reverse_sql("policies_customrecognizer")
        ),
    ]
