"""Which embedder made a store's vectors, and the guard that keeps one index to one model.

The two embedders give vectors of the same dimension: a question embedded by one, searched against chunks embedded
by the other, would not fail, it would rank nonsense. So the store records its model (IndexEmbedder), and search and
ingestion compare it with the configured one (settings.EMBEDDING_MODEL) before they touch a vector."""

from __future__ import annotations

from django.db import connections

from cleanroom.errors import ServiceError
from ingestion.embeddings import active_model, embedding_model_version
from ingestion.models import IndexEmbedder

REEMBED_COMMAND = "python manage.py reembed"


class EmbedderMismatch(ServiceError):
    """The store's vectors were made by another model than the configured one (HTTP 503: the operator's to fix)."""

    status_code = 503

    def __init__(self, recorded: str, configured: str) -> None:
        super().__init__(
            "embedding_model_mismatch",
            f"The index was embedded with {recorded}, but this service is configured for {configured} "
            f"(CLEANROOM_EMBEDDING_MODEL). Run `{REEMBED_COMMAND}` to re-embed every stored chunk with {configured}, "
            f"or set CLEANROOM_EMBEDDING_MODEL={recorded} again.",
        )
        self.recorded = recorded
        self.configured = configured


def index_embedder(*, alias: str) -> str | None:
    """The model that made the vectors of the store `alias`, None if it never held a chunk."""
    return IndexEmbedder.objects.using(alias).filter(pk=1).values_list("model", flat=True).first()


def index_embedder_check(*, alias: str) -> None:
    """Raise EmbedderMismatch when the store's vectors are not the configured model's (a store without any is
    anyone's)."""
    recorded = index_embedder(alias=alias)
    if recorded is not None and recorded != active_model():
        raise EmbedderMismatch(recorded, active_model())


def index_embedder_claim(*, alias: str) -> str:
    """Inside the transaction that stores vectors: the store's model, recorded if it had none, and held (FOR SHARE)
    until commit, so that `reembed` cannot switch the index between this check and these vectors. Raises
    EmbedderMismatch when it is not the configured model."""
    configured = active_model()
    IndexEmbedder.objects.using(alias).bulk_create(
        [IndexEmbedder(pk=1, model=configured, version=embedding_model_version())], ignore_conflicts=True
    )
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT model FROM ingestion_indexembedder WHERE id = 1 FOR SHARE")
        (recorded,) = cursor.fetchone()
    if recorded != configured:
        raise EmbedderMismatch(recorded, configured)
    return str(recorded)


def index_embedder_hold(*, alias: str) -> str | None:
    """Inside a transaction that rewrites some vectors (erasure): the store's model, held (FOR SHARE) until commit,
    so that the new vectors are made by the model of the index whatever the configuration says."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT model FROM ingestion_indexembedder WHERE id = 1 FOR SHARE")
        row = cursor.fetchone()
    return str(row[0]) if row else None
