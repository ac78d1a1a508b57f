from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "cleanroom.vault"
    label = "vault"
    verbose_name = "Pseudonym vault, erasure and retention"
