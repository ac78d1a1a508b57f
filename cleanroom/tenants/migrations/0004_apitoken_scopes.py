import django.contrib.postgres.fields
from django.db import migrations, models

import cleanroom.tenants.models


class Migration(migrations.Migration):
    """Tokens that existed before scopes keep every scope: they go on doing what they did (within the role)."""

    dependencies = [
        ("tenants", "0003_membership_reviewer_role"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(
                    choices=[
                        ("read", "Read (list and read documents and conversations, search)"),
                        ("query", "Query (ask questions, converse, rate answers; the OpenAI endpoint)"),
                        ("upload", "Upload (upload and delete documents)"),
                        ("review", "Review (decide on documents held for review)"),
                        ("admin", "Admin (manage the tenant's members and tokens)"),
                    ],
                    max_length=16,
                ),
                default=cleanroom.tenants.models.all_scopes,
                help_text="What the key may do, within its owner's role.",
                size=None,
            ),
        ),
    ]
