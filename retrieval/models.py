"""Lexical (BM25) index data. PostgreSQL fills these tables itself, by triggers (migration 0001_lexical): nothing in
Python writes them, so ingestion code stays unaware of them and no path that stores chunks can forget them."""

from __future__ import annotations

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
