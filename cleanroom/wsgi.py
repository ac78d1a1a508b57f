import os

from django.core.wsgi import get_wsgi_application

from cleanroom.bootstrap import bootstrap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")

bootstrap()  # settings only read the environment: folders, keys and the embedded PostgreSQL come first
application = get_wsgi_application()

from cleanroom import rls  # noqa: E402 - after Django is set up

rls.process_default_set(rls.NOBODY)  # outside a request's resolved tenant, the web server sees no tenant's rows
