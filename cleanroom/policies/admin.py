from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages

from cleanroom.audit.services import audit_record
from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES, ENTITY_TYPES, entity_choices
from cleanroom.policies.models import (
    AllowTerm,
    CustomRecognizer,
    DenyTerm,
    EntityRule,
    ResidencyRule,
    default_redact_entities,
)
from cleanroom.regions import region_stores
from cleanroom.tenants.admin import TenantScopedAdmin
from cleanroom.tenants.models import region_choices


def weakened_types(redact_entities: list[str]) -> list[str]:
    """The default policy's types that `redact_entities` leaves in the clear."""
    return [name for name in DEFAULT_REDACT_ENTITIES if name not in set(redact_entities)]


class ResidencyRuleForm(forms.ModelForm):
    storage_regions = forms.MultipleChoiceField(
        choices=region_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=ResidencyRule._meta.get_field("storage_regions").help_text,
    )
    processing_regions = forms.MultipleChoiceField(
        choices=region_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=ResidencyRule._meta.get_field("processing_regions").help_text,
    )
    # A new rule starts from the default policy: a rule that only sets a region must not switch redaction off.
    redact_entities = forms.MultipleChoiceField(
        choices=entity_choices,
        initial=default_redact_entities,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=ResidencyRule._meta.get_field("redact_entities").help_text
        + " Untick a type only when the documents need it and the law allows it.",
    )
    confirm_weaker = forms.BooleanField(
        required=False,
        label="I confirm that this rule redacts less than the default policy",
        help_text="Needed when a type the default policy removes (names, contact details, government and "
        "financial identifiers) is unticked: those values will then be indexed verbatim. The change is audited.",
    )

    class Meta:
        model = ResidencyRule
        fields = ["tenant", "storage_regions", "processing_regions", "redact_entities", "retention_days"]

    def clean_storage_regions(self) -> list[str]:
        regions: list[str] = self.cleaned_data["storage_regions"]
        missing = [region for region in regions if region not in region_stores()]
        if missing:
            raise forms.ValidationError(
                f"No store is configured for region(s) {', '.join(missing)} in this deployment "
                f"(stores: {', '.join(sorted(region_stores()))}); documents could not be stored there. "
                "Configure CLEANROOM_REGIONS first, or choose a region that has a store.",
                code="no_store",
            )
        return regions

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        weaker = weakened_types(cleaned.get("redact_entities") or [])
        if weaker and not cleaned.get("confirm_weaker"):
            labels = ", ".join(ENTITY_TYPES[name] for name in weaker)
            self.add_error(
                "confirm_weaker",
                forms.ValidationError(
                    f"This rule would index {labels} verbatim. Tick the confirmation to redact less than the "
                    "default policy, or tick those types again.",
                    code="weaker_than_default",
                ),
            )
        return cleaned


@admin.register(ResidencyRule)
class ResidencyRuleAdmin(TenantScopedAdmin, admin.ModelAdmin):
    form = ResidencyRuleForm
    list_display = ["tenant", "storage_regions", "processing_regions", "retention_days", "updated_at"]
    search_fields = ["tenant__slug", "tenant__name"]

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        super().save_model(request, obj, form, change)
        weaker = weakened_types(obj.redact_entities)
        if weaker:
            self.message_user(
                request,
                "This rule redacts less than the default policy: "
                + ", ".join(ENTITY_TYPES[name] for name in weaker)
                + " will be indexed verbatim from the next upload on.",
                messages.WARNING,
            )
        audit_record(
            tenant=obj.tenant,
            actor=request.user,
            action="policy.changed" if change else "policy.created",
            target=obj,
            details={
                "changed_fields": sorted(form.changed_data),
                "weaker_than_default": weaker,
                "storage_regions": obj.storage_regions,
                "processing_regions": obj.processing_regions,
                "redact_entities": obj.redact_entities,
                "retention_days": obj.retention_days,
                "deployment_region": settings.CLEANROOM_REGION,
            },
        )

    def delete_model(self, request, obj) -> None:  # noqa: ANN001
        audit_record(tenant=obj.tenant, actor=request.user, action="policy.deleted", target=obj, details={})
        super().delete_model(request, obj)


class AuditedPolicyAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """Every change to a PII policy part is audited: which fields changed and the new settings, never allow-list
    terms (a term may be a name the tenant chose to keep) and never a pattern's matches."""

    audit_fields: tuple[str, ...] = ()

    def _audit(self, request, obj, action: str, changed: list[str]) -> None:  # noqa: ANN001
        details = {"changed_fields": sorted(changed), **{f: getattr(obj, f) for f in self.audit_fields}}
        audit_record(tenant=obj.tenant, actor=request.user, action=action, target=obj, details=details)

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        super().save_model(request, obj, form, change)
        name = obj._meta.model_name
        self._audit(request, obj, f"policy.{name}.{'changed' if change else 'created'}", form.changed_data)

    def delete_model(self, request, obj) -> None:  # noqa: ANN001
        self._audit(request, obj, f"policy.{obj._meta.model_name}.deleted", [])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:  # noqa: ANN001
        for obj in queryset:
            self._audit(request, obj, f"policy.{obj._meta.model_name}.deleted", [])
        super().delete_queryset(request, queryset)


@admin.register(EntityRule)
class EntityRuleAdmin(AuditedPolicyAdmin):
    list_display = ["tenant", "entity_type", "action", "threshold", "uncertain", "updated_at"]
    list_filter = ["action", "uncertain", "entity_type"]
    search_fields = ["tenant__slug"]
    audit_fields = ("entity_type", "action", "threshold", "uncertain")


@admin.register(AllowTerm)
class AllowTermAdmin(AuditedPolicyAdmin):
    list_display = ["tenant", "term"]
    search_fields = ["tenant__slug", "term"]


@admin.register(CustomRecognizer)
class CustomRecognizerAdmin(AuditedPolicyAdmin):
    list_display = ["tenant", "label", "pattern", "action", "updated_at"]
    list_filter = ["action"]
    search_fields = ["tenant__slug", "label"]
    audit_fields = ("label", "pattern", "action", "ignore_case")


@admin.register(DenyTerm)
class DenyTermAdmin(AuditedPolicyAdmin):
    # The term itself is a person's name: shown to the tenant's own admins, never written to the audit trail.
    list_display = ["tenant", "term", "entity_type", "created_at"]
    list_filter = ["entity_type"]
    search_fields = ["tenant__slug"]
    audit_fields = ("entity_type",)
