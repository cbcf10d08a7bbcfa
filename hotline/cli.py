"""The ``hotline`` console command: everything a person runs, one entry point.

``hotline serve|demo|migrate|generate|…`` are Django management commands of this project;
``hotline <any manage.py command>`` works too.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
    argv = list(sys.argv if argv is None else ["hotline", *argv])
    if len(argv) == 1:
        argv.append("help")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
