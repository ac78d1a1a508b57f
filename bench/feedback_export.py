"""Rated answers as a QA set: what users said about answers becomes evaluation data.

    python -m bench.feedback_export --tenant SLUG [--rating up|down] [--output qa_feedback.jsonl]

Writes one JSON object per line in the shape of bench/data/qa_policies.jsonl (`id`, `kind`, `question`, `expect`,
`document`), plus `document_ids`, `chunk_ids`, `reference_answer`, `answer`, `abstained`, `rating`, `comment` and
`model` (retrieval/feedback.py says how each rating maps to a kind). The question is the standalone one that was
searched; every text is the stored, redacted one. Prints to stdout unless --output is given; the count goes to
stderr. Reads the database `manage.py` uses (CLEANROOM_DATA_DIR or DATABASE_URL).
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenant", required=True, help="tenant slug")
    parser.add_argument("--rating", choices=["up", "down"], default=None, help="only answers rated so")
    parser.add_argument("--output", default="", help="a file to write (default: stdout)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")
    import django

    from cleanroom.bootstrap import bootstrap

    bootstrap()  # data dir, keys, the embedded PostgreSQL: settings only read the environment
    django.setup()
    from cleanroom.routing import tenant_scope
    from cleanroom.tenants.selectors import tenant_get
    from retrieval.feedback import feedback_qa_rows

    tenant = tenant_get(slug=args.tenant)
    if tenant is None:
        sys.exit(f"No tenant '{args.tenant}'.")
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    count = 0
    try:
        with tenant_scope(tenant):
            for row in feedback_qa_rows(tenant=tenant, rating=args.rating):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"{count} rated answer(s) exported", file=sys.stderr)


if __name__ == "__main__":
    main()
