from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from cleanroom.routing import region_scope, region_stores
from ingestion.embeddings import embedding_model_version
from ingestion.reembed import chunks_reembed


class Command(BaseCommand):
    help = (
        "Re-embed every stored chunk, in every region store, with the configured embedder "
        "(CLEANROOM_EMBEDDING_MODEL), and record it as the index's model. The stored text is already redacted: "
        "nothing is redacted again. One transaction per store: searches keep the old vectors until it commits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=settings.EMBEDDING_BATCH_SIZE, help="Texts per embedder call"
        )
        parser.add_argument(
            "--force", action="store_true", help="Re-embed even a store already recorded as the configured model's"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Embedder: {embedding_model_version()}")
        seen: set[str] = set()
        for region in sorted(region_stores()):
            # region_scope: this store, every tenant's rows (system scope under row-level security).
            with region_scope(region) as alias:
                if alias in seen:
                    continue
                seen.add(alias)

                def progress(done: int, total: int, alias: str = alias) -> None:
                    if options["verbosity"] > 1 or done == total or done % 5120 == 0:
                        self.stdout.write(f"  {alias}: {done}/{total} chunks")

                result = chunks_reembed(
                    alias=alias, batch_size=max(1, options["batch_size"]), force=options["force"], progress=progress
                )
            if result.chunks == 0 and result.previous == result.model:
                self.stdout.write(f"Store {alias} (region {region}): already embedded with {result.model}.")
            else:
                self.stdout.write(
                    f"Store {alias} (region {region}): {result.chunks} chunks re-embedded "
                    f"({result.previous or 'none'} -> {result.model}) in {result.seconds:.1f} s."
                )
