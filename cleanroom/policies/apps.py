from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "cleanroom.policies"
    label = "policies"
    verbose_name = "Residency and PII policies"
