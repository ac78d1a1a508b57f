from django.conf import settings
from django.db import migrations

from cleanroom import rls


class Migration(migrations.Migration):
    """The role the service's connections switch to (cleanroom/rls.py): neither owner nor superuser, with rights
    on rows only; the apps' migrations then put their tenant tables under row-level security."""

    dependencies = [
        ("tenants", "0004_apitoken_scopes"),
    ]

    operations = [migrations.RunSQL(rls.role_sql(settings.RLS_ROLE), reverse_sql=migrations.RunSQL.noop)]
