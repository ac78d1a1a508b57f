from __future__ import annotations

import re

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models

from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES, ENTITY_TYPES, entity_choices
from cleanroom.tenants.models import Tenant, region_choices


def default_redact_entities() -> list[str]:
    return list(DEFAULT_REDACT_ENTITIES)


class ResidencyRule(models.Model):
    """Where a tenant's data may be stored and processed, and which personal data is removed before indexing."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="residency_rule")
    storage_regions = ArrayField(
        models.CharField(max_length=32, choices=region_choices),
        default=list,
        blank=True,
        help_text="Regions whose stores may hold this tenant's documents, chunks and vectors. "
        "Empty: only the tenant's home region.",
    )
    processing_regions = ArrayField(
        models.CharField(max_length=32, choices=region_choices),
        default=list,
        blank=True,
        help_text="Regions where models may process this tenant's text (embedding, answering). "
        "Empty: only the tenant's home region.",
    )
    redact_entities = ArrayField(
        models.CharField(max_length=40, choices=entity_choices),
        default=default_redact_entities,
        blank=True,
        help_text="Personal-data types replaced by a placeholder such as <PERSON> before anything is indexed.",
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Documents older than this many days are purged (with their chunks, vectors and keyed hashes) by "
        "a periodic task, each purge audited. Empty: kept until deleted.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "residency rule"

    def __str__(self) -> str:
        return f"Residency rule for {self.tenant.slug}"

    def allowed_storage_regions(self) -> list[str]:
        return self.storage_regions or [self.tenant.home_region]

    def allowed_processing_regions(self) -> list[str]:
        return self.processing_regions or [self.tenant.home_region]


class PiiAction(models.TextChoices):
    REDACT = "redact", "Redact: replace by a placeholder such as <PERSON>"
    MASK = "mask", "Mask: keep separators and the last 4 characters of long values, star the rest"
    PSEUDONYMIZE = "pseudonymize", "Pseudonymize: a stable per-tenant token such as <PERSON_7f3a9c12>"
    BLOCK = "block", "Block: refuse the whole document (it fails with code pii_blocked)"


class UncertainAction(models.TextChoices):
    """What happens to a value only the second, stricter pass found (see cleanroom.redaction.pii_second_pass)."""

    REDACT = "redact", "Redact it like any other value of this type (the default)"
    HOLD = "hold", "Hold the document for a reviewer, who confirms or rejects each such value"
    ALLOW = "allow", "Allow it: keep the text as it is"


def validate_threshold(value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValidationError("A confidence threshold is between 0 and 1.")


class EntityRule(models.Model):
    """How one personal-data type is treated for one tenant. A type with a rule is always detected, whether or not
    the residency rule's list ticks it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="entity_rules")
    entity_type = models.CharField(max_length=40, choices=entity_choices)
    action = models.CharField(max_length=16, choices=PiiAction.choices, default=PiiAction.REDACT)
    uncertain = models.CharField(
        "uncertain matches",
        max_length=16,
        choices=UncertainAction.choices,
        default=UncertainAction.REDACT,
        help_text="Every document also gets a stricter pass (the leak scan's threshold) before it is stored: what "
        "to do with what only that pass finds.",
    )
    threshold = models.FloatField(
        null=True,
        blank=True,
        validators=[validate_threshold],
        help_text="Minimum detector confidence (0-1) for a match to count. Empty: the default (0.4). Lower "
        "catches more and over-redacts more; validated identifiers (Aadhaar checksum, e-mail) score 1.0. What scores "
        "below it but at least the second pass's threshold (0.3) is treated as 'uncertain matches' says.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "entity_type"], name="entityrule_unique_type")]
        ordering = ["tenant__slug", "entity_type"]

    def __str__(self) -> str:
        return f"{self.entity_type}: {self.action}"


class AllowTerm(models.Model):
    """A term never redacted for this tenant, such as the company's own name or a product name."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="allow_terms")
    term = models.CharField(
        max_length=200,
        help_text="Matched against whole detected values, ignoring case and extra spaces "
        "(allowing 'Acme Corp' does not allow 'Acme Corp Ltd').",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "term"], name="allowterm_unique")]
        ordering = ["tenant__slug", "term"]

    def __str__(self) -> str:
        return self.term

    def clean(self) -> None:
        self.term = " ".join(self.term.split())
        if len(self.term) < 2:
            raise ValidationError({"term": "An allowed term has at least 2 characters."})


class DenyTerm(models.Model):
    """A value always treated as personal data of `entity_type` for this tenant, wherever it occurs (a reviewer
    confirmed it as a missed name, or an administrator added it)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="deny_terms")
    term = models.CharField(max_length=200, help_text="Matched as whole words, ignoring case and extra spaces.")
    entity_type = models.CharField(max_length=40, choices=entity_choices, default="PERSON")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "term", "entity_type"], name="denyterm_unique")]
        ordering = ["tenant__slug", "term"]

    def __str__(self) -> str:
        return f"{self.entity_type} term #{self.pk}"  # never the value: it names a person

    def clean(self) -> None:
        self.term = " ".join(self.term.split())
        if len(self.term) < 2:
            raise ValidationError({"term": "A denied term has at least 2 characters."})


def validate_label(value: str) -> None:
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{1,38}", value):
        raise ValidationError("Upper-case letters, digits and underscores, starting with a letter (e.g. EMPLOYEE_ID).")
    if value in ENTITY_TYPES:
        raise ValidationError(f"{value} is a built-in type; set its treatment with an entity rule instead.")


def validate_pattern(value: str) -> None:
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ValidationError(f"Not a valid regular expression: {exc}.") from exc
    if compiled.fullmatch(""):
        raise ValidationError("The expression matches empty text, which would redact everything.")


class CustomRecognizer(models.Model):
    """A regular expression with a label, for identifiers the built-in detector does not know (employee ids)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="custom_recognizers")
    label = models.CharField(
        max_length=40, validators=[validate_label], help_text="Entity type the matches get, e.g. EMPLOYEE_ID."
    )
    pattern = models.CharField(
        max_length=500,
        validators=[validate_pattern],
        help_text=r"Python regular expression, e.g. \bEMP-\d{6}\b. Use \b to avoid matching inside longer words.",
    )
    action = models.CharField(max_length=16, choices=PiiAction.choices, default=PiiAction.REDACT)
    ignore_case = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "label"], name="customrecognizer_unique_label")]
        ordering = ["tenant__slug", "label"]

    def __str__(self) -> str:
        return f"{self.label} /{self.pattern}/"
