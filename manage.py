#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError, ProgrammingError

    from cleanroom.bootstrap import bootstrap, missing_tables_message

    bootstrap()  # folders, key files and the embedded PostgreSQL, before any command connects
    try:
        execute_from_command_line(sys.argv)
    except (ProgrammingError, OperationalError):
        # A fresh data directory: say what to run instead of a traceback about a missing relation.
        message = missing_tables_message()
        if message is None:
            raise
        sys.exit(message)


if __name__ == "__main__":
    main()
