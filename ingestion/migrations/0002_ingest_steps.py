from django.db import migrations, models


def processing_to_queued(apps, schema_editor):
    # "processing" is split into extracting/redacting/embedding; a document caught mid-way is simply re-queued.
    Document = apps.get_model("ingestion", "Document")
    Document.objects.filter(status="processing").update(status="queued")


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="claim_token",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="document",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, help_text="How many times a worker claimed it."),
        ),
        migrations.AddField(
            model_name="document",
            name="step_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="document",
            name="steps",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Each status the document went through, with its time and attempt.",
            ),
        ),
        migrations.AlterField(
            model_name="document",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("extracting", "Extracting text"),
                    ("redacting", "Removing personal data"),
                    ("embedding", "Embedding"),
                    ("indexed", "Indexed"),
                    ("failed", "Failed"),
                ],
                db_index=True,
                default="queued",
                max_length=16,
            ),
        ),
        migrations.RunPython(processing_to_queued, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(fields=["tenant", "content_sha256"], name="document_tenant_sha256"),
        ),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(fields=["status", "step_started_at"], name="document_status_step"),
        ),
    ]
