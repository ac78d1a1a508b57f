from django.apps import AppConfig


class CleanroomConfig(AppConfig):
    name = "cleanroom"
    verbose_name = "Clean room"
