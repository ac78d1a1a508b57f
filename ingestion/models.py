from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from pgvector.django import HnswIndex, VectorField

from cleanroom.tenants.models import Tenant
from ingestion.embeddings import EMBEDDING_DIMENSIONS


class Document(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        EXTRACTING = "extracting", "Extracting text"
        REDACTING = "redacting", "Removing personal data"
        EMBEDDING = "embedding", "Embedding"
        INDEXED = "indexed", "Indexed"
        FAILED = "failed", "Failed"
        # The second pass found values its policy asks a person to look at: nothing is searchable until released.
        HELD = "held", "Held for review"

    # A worker holds a document while it is in one of these; the sweep re-queues it when a step lasts too long.
    IN_PROGRESS = (Status.EXTRACTING, Status.REDACTING, Status.EMBEDDING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # db_constraint=False: documents live in a region store, tenants and users in the control plane.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="documents", db_constraint=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    # Title and file name can name people too: both are filled in by the worker, redacted, never raw.
    title = models.CharField(max_length=300, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    media_type = models.CharField(max_length=100)
    size_bytes = models.BigIntegerField()
    content_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the uploaded bytes.")
    # Which worker run holds the document: every write of a run is conditional on it, so a run that was presumed
    # dead and swept cannot write after another run took over.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker claimed it.")
    step_started_at = models.DateTimeField(null=True, blank=True)
    steps = models.JSONField(
        default=list, blank=True, help_text="Each status the document went through, with its time and attempt."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    redaction_counts = models.JSONField(default=dict, blank=True)
    manifest = models.JSONField(
        default=dict,
        blank=True,
        help_text="Detector, models and policy used, counts, and hashes; never values.",
    )
    chunk_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="document_tenant_recent"),
            models.Index(fields=["tenant", "content_sha256"], name="document_tenant_sha256"),
            models.Index(fields=["status", "step_started_at"], name="document_status_step"),
        ]

    def __str__(self) -> str:
        return self.title or f"Document {self.pk}"

    @property
    def display_title(self) -> str:
        return self.title or "(awaiting redaction)"

    @property
    def in_progress(self) -> bool:
        return self.status in (Document.Status.QUEUED, *Document.IN_PROGRESS)

    @property
    def redaction_total(self) -> int:
        return sum(self.redaction_counts.values())


class Chunk(models.Model):
    # The tenant sits on every chunk so that a search is scoped without a join.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    section = models.CharField(max_length=300, blank=True, help_text="Page or heading the text came from.")
    text = models.TextField(help_text="Redacted text: personal data was replaced before it was stored.")
    # ISO 639-1 code detected from the redacted text (ingestion/language.py), "und" when unsure.
    language = models.CharField(max_length=8, blank=True, default="")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["document", "ordinal"], name="chunk_unique_ordinal")]
        indexes = [
            models.Index(fields=["tenant", "document"], name="chunk_tenant_document"),
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"


class ValueFinding(models.Model):
    """A document (and the chunks carrying its token, for pseudonyms) mentioned a value with this keyed hash.
    Erasure hashes an identifier the same way to find every document that named a person."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    entity_type = models.CharField(max_length=40)
    action = models.CharField(max_length=16)
    value_hash = models.CharField(max_length=64)
    token = models.CharField(max_length=64, blank=True)
    chunk_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # Keyed hashes of every run of whole words of a name-like value (cleanroom.pii.policy.name_part_hashes), so that
    # erasure of "Meera Pillai" finds the detection "Contact Meera Pillai".
    part_hashes = ArrayField(models.CharField(max_length=64), default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "value_hash"], name="valuefinding_tenant_hash"),
            GinIndex(fields=["part_hashes"], name="valuefinding_part_hashes"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["document", "entity_type", "value_hash"], name="valuefinding_unique")
        ]

    def __str__(self) -> str:
        return f"{self.entity_type} in {self.document_id}"


class ReviewItem(models.Model):
    """A value the second pass found in a held document, waiting for (or given) a reviewer's decision. Its
    position and type only: the text it points into waits in quarantine with the raw upload."""

    class Decision(models.TextChoices):
        PENDING = "", "Pending"
        CONFIRMED = "confirmed", "Personal data: redact"
        REJECTED = "rejected", "Not personal data: keep"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="review_items")
    text_index = models.PositiveIntegerField(help_text="Which stored text (chunk, heading, title, file name).")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    entity_type = models.CharField(max_length=40)
    score = models.FloatField()
    # Keyed hash of the value: one decision applies to every occurrence of the same value in the document.
    value_hash = models.CharField(max_length=64)
    decision = models.CharField(max_length=16, choices=Decision.choices, default=Decision.PENDING, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "text_index", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "text_index", "start", "end", "entity_type"], name="reviewitem_unique_span"
            )
        ]
        indexes = [models.Index(fields=["tenant", "document"], name="reviewitem_tenant_document")]

    def __str__(self) -> str:
        return f"{self.entity_type} at {self.text_index}:{self.start}-{self.end} of {self.document_id}"


class IndexEmbedder(models.Model):
    """The embedding model that made the vectors of every chunk in this store: one row (pk 1), written by the
    first indexing and by `manage.py reembed`; none while the store has never held a chunk. Search and ingestion
    refuse to work when it is not the configured one: both models give 384 dimensions, so a mixed index would not
    fail, it would rank nonsense. Global to the store (no tenant): one index, one vector space."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    model = models.CharField(max_length=64, help_text="settings.EMBEDDING_MODEL, e.g. all-minilm-l6-v2")
    version = models.CharField(max_length=200, help_text="Model and package, as in the documents' manifests.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.version or self.model
