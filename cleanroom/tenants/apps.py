from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "cleanroom.tenants"
    label = "tenants"
    verbose_name = "Tenants and access"
