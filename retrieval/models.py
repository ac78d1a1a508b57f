"""Lexical (BM25) index data. PostgreSQL fills these tables itself, by triggers (migration 0001_lexical): nothing in
Python writes them, so ingestion code stays unaware of them and no path that stores chunks can forget them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from cleanroom.tenants.models import Tenant
from ingestion.models import Chunk


class ChunkTerms(models.Model):
    """The stemmed terms of one chunk of an indexed document: its title, section and redacted text."""

    # Written and deleted with its chunk by triggers, not by Django's collector, so that any way of storing or
    # deleting chunks (bulk, raw SQL, cascades) keeps the index consistent.
    chunk = models.OneToOneField(
        Chunk, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    lexemes = SearchVectorField(help_text="Stripped tsvector, for GIN candidate search.")
    tf = models.JSONField(help_text="Term frequency per lexeme.")
    length = models.PositiveIntegerField(help_text="Number of indexed (non-stop-word) tokens.")

    def __str__(self) -> str:
        return f"terms of chunk {self.chunk_id}"


class TenantLexicon(models.Model):
    """Per-tenant collection statistics for BM25: how many chunks, and their total length."""

    # db_constraint=False here and below: these rows live in the tenant's region store, the tenant in the control plane.
    tenant = models.OneToOneField(
        Tenant, primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    chunks = models.BigIntegerField(default=0)
    total_length = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"lexicon of tenant {self.tenant_id}"


class TenantTerm(models.Model):
    """Per-tenant document frequency of a term (in chunks), so a query never counts them over the tenant's chunks."""

    pk = models.CompositePrimaryKey("tenant", "term")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    term = models.TextField()
    df = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.term} ({self.df})"


class Conversation(models.Model):
    """A user's chat with the tenant's documents. It belongs to that user in that tenant: no one else sees it, not
    even the tenant's admins through the API (they would get 404 like for a missing one)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # db_constraint=False: conversations hold (redacted) content, so they live in the tenant's region store, while
    # tenants and users stay in the control plane.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    title = models.CharField(max_length=200, blank=True, help_text="The first question, redacted.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["tenant", "user", "-updated_at"], name="conversation_owner_recent")]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    """One turn of a conversation. Every text here went through the redaction door (cleanroom/redaction.py):
    a user's message as redacted on arrival, and the standalone question it was rewritten into."""

    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # The tenant on the row itself: scans (leak scan, erasure verification) and scoping need no join.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(help_text="The question (redacted) or the answer.")
    standalone_question = models.TextField(
        blank=True, help_text="User turns: the follow-up rewritten into a question that stands alone (redacted)."
    )
    rewrite_method = models.CharField(
        max_length=16,
        blank=True,
        help_text="User turns: unchanged, rules or model (who wrote the standalone question).",
    )
    citations = models.JSONField(default=list, blank=True, help_text="Assistant turns: the answer's citations.")
    abstained = models.BooleanField(default=False)
    abstain_reason = models.CharField(max_length=32, blank=True)
    model = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="message_tenant_created")]

    def __str__(self) -> str:
        return f"{self.role} message {self.pk}"


class AnswerFeedback(models.Model):
    """A user's rating of one answer (an assistant message): one per user and answer, the latest counts."""

    class Rating(models.TextChoices):
        UP = "up", "Helpful"
        DOWN = "down", "Not helpful"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    rating = models.CharField(max_length=8, choices=Rating.choices)
    comment = models.TextField(blank=True, help_text="Redacted on arrival, like questions.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="answerfeedback_one_per_user")]
        indexes = [models.Index(fields=["tenant", "-updated_at"], name="answerfeedback_tenant_recent")]

    def __str__(self) -> str:
        return f"{self.rating} on message {self.message_id}"
