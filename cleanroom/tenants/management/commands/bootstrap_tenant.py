from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cleanroom.tenants.models import Role
from cleanroom.tenants.services import tenant_bootstrap


class Command(BaseCommand):
    help = (
        "Create whatever is missing of a tenant, a user and their membership, then print a new API token "
        "as the last line of output (for scripts: `... | tail -n1`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug, e.g. acme-bank")
        parser.add_argument("--user", required=True, help="Username")
        parser.add_argument("--role", default=Role.EDITOR, choices=Role.values)
        parser.add_argument("--password", help="Set this password (otherwise a new user gets no usable password)")
        parser.add_argument(
            "--staff",
            action="store_true",
            help="Let the user administer this tenant in Django admin (needs --role admin): staff status and the "
            "'Tenant administrators' group. Never a superuser: admin shows them only the tenants they administer.",
        )
        parser.add_argument(
            "--operator",
            action="store_true",
            help="Make the user a platform operator: a superuser who sees and changes every tenant in Django admin, "
            "including revealing pseudonyms. For the people who run the deployment, not for a tenant's staff.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            membership, key, created = tenant_bootstrap(
                slug=options["tenant"],
                username=options["user"],
                role=options["role"],
                password=options["password"],
                staff=options["staff"],
                operator=options["operator"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Created" if created else "Found"
        self.stdout.write(
            f"{verb} user {membership.user.username!r}; role {membership.role!r} in tenant {membership.tenant.slug!r}."
        )
        if options["staff"] and not options["operator"] and membership.user.is_superuser:
            self.stderr.write(
                f"Warning: {membership.user.username!r} already is a superuser (a platform operator) and sees every "
                "tenant; --staff does not change that. Remove the status in admin if it was not meant."
            )
        self.stdout.write(key)
