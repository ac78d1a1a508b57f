from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin

from cleanroom.audit.services import audit_record
from cleanroom.pii.entities import entity_choices
from cleanroom.policies.models import ResidencyRule
from cleanroom.tenants.models import region_choices


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
    redact_entities = forms.MultipleChoiceField(
        choices=entity_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=ResidencyRule._meta.get_field("redact_entities").help_text
        + " Untick a type only when the documents need it and the law allows it.",
    )

    class Meta:
        model = ResidencyRule
        fields = ["tenant", "storage_regions", "processing_regions", "redact_entities"]


@admin.register(ResidencyRule)
class ResidencyRuleAdmin(admin.ModelAdmin):
    form = ResidencyRuleForm
    list_display = ["tenant", "storage_regions", "processing_regions", "updated_at"]
    search_fields = ["tenant__slug", "tenant__name"]

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        super().save_model(request, obj, form, change)
        audit_record(
            tenant=obj.tenant,
            actor=request.user,
            action="policy.changed" if change else "policy.created",
            target=obj,
            details={
                "changed_fields": sorted(form.changed_data),
                "storage_regions": obj.storage_regions,
                "processing_regions": obj.processing_regions,
                "redact_entities": obj.redact_entities,
                "deployment_region": settings.CLEANROOM_REGION,
            },
        )
