"""Re-embedding a store's chunks with the configured model (`manage.py reembed`), after CLEANROOM_EMBEDDING_MODEL
changed.

The stored text is already redacted: nothing goes through the PII layer again, the chunks keep their boundaries
(cut for the model that made them; see README, "Retrieval"), and each is embedded exactly as the pipeline embeds
it (`embedding_text`: title and heading before the text)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections, transaction
from django.utils.timezone import now

from ingestion.embeddings import active_model, embed, embedding_model_version
from ingestion.models import Chunk, IndexEmbedder
from ingestion.pipeline import embedding_text

PAGE_CHUNKS = 512  # chunks read, embedded and written at a time


@dataclass(frozen=True)
class ReembedResult:
    alias: str
    previous: str | None
    model: str
    chunks: int
    seconds: float


def chunks_reembed(
    *, alias: str, batch_size: int, force: bool = False, progress: Callable[[int, int], None] | None = None
) -> ReembedResult:
    """Give every chunk of the store `alias` a vector of the configured model and record that model, in one
    transaction: searches see the old vectors until it commits, then only the new ones, and an interrupted run
    changes nothing. The documents' manifests name the new model too. The store's model row stays locked
    meanwhile, so indexing and erasure wait rather than add vectors of either model halfway. Nothing to do when the
    store already is the configured model's (unless `force`, e.g. after a new release of the model's package).
    The caller is in system scope: every tenant's chunks."""
    started = time.perf_counter()
    configured = active_model()
    done = 0
    with transaction.atomic(using=alias):
        IndexEmbedder.objects.using(alias).bulk_create(
            [IndexEmbedder(pk=1, model=configured, version=embedding_model_version())], ignore_conflicts=True
        )
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT model FROM ingestion_indexembedder WHERE id = 1 FOR UPDATE")
            (previous,) = cursor.fetchone()
        chunks = Chunk.objects.using(alias)
        total = chunks.count()
        if previous == configured and not force:
            # A store that just got its row above, or one already re-embedded: its chunks are the configured model's.
            return ReembedResult(alias, previous, configured, 0, time.perf_counter() - started)
        last = 0
        while True:
            rows = list(
                chunks.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "document__title", "section", "text")[:PAGE_CHUNKS]
            )
            if not rows:
                break
            vectors = embed(
                [embedding_text(title, section, text) for _, title, section, text in rows],
                kind="passage",
                batch_size=batch_size,
            )
            chunks.bulk_update(
                [Chunk(pk=pk, embedding=vector) for (pk, *_), vector in zip(rows, vectors, strict=True)],
                ["embedding"],
            )
            done += len(rows)
            last = rows[-1][0]
            if progress is not None:
                progress(done, total)
        version = embedding_model_version()
        IndexEmbedder.objects.using(alias).filter(pk=1).update(model=configured, version=version, updated_at=now())
        with connections[alias].cursor() as cursor:  # the manifests say which model embedded each document
            cursor.execute(
                "UPDATE ingestion_document SET manifest = jsonb_set(manifest, '{embedding_model}', to_jsonb(%s::text))"
                " WHERE manifest ? 'embedding_model'",
                [version],
            )
    return ReembedResult(alias, previous, configured, done, time.perf_counter() - started)
