import os

from django.core.wsgi import get_wsgi_application

from cleanroom.bootstrap import bootstrap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")

bootstrap()  # settings only read the environment: folders, keys and the embedded PostgreSQL come first
application = get_wsgi_application()
