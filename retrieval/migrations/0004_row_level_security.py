from django.db import migrations

from cleanroom import rls


class Migration(migrations.Migration):
    """Row-level security on this app's tenant tables (cleanroom/rls.py)."""

    dependencies = [
        ("retrieval", "0003_mixed_script_lexical"),
        ("tenants", "0005_database_role"),
    ]

    operations = [
        migrations.RunSQL(
            rls.policy_sql("retrieval_chunkterms"), reverse_sql=rls.policy_reverse_sql("retrieval_chunkterms")
        ),
        migrations.RunSQL(
            rls.policy_sql("retrieval_tenantlexicon"), reverse_sql=rls.policy_reverse_sql("retrieval_tenantlexicon")
        ),
        migrations.RunSQL(
            rls.policy_sql("retrieval_tenantterm"), reverse_sql=rls.policy_reverse_sql("retrieval_tenantterm")
        ),
        migrations.RunSQL(
            rls.policy_sql("retrieval_conversation"), reverse_sql=rls.policy_reverse_sql("retrieval_conversation")
        ),
        migrations.RunSQL(rls.policy_sql("retrieval_message"), reverse_sql=rls.policy_reverse_sql("retrieval_message")),
        migrations.RunSQL(
            rls.policy_sql("retrieval_answerfeedback"), reverse_sql=rls.policy_reverse_sql("retrieval_answerfeedback")
        ),
    ]
