from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ingestion.models import Chunk, Document
from tests.helpers.samples import make_docx, make_eml, make_pptx, make_xlsx

pytestmark = pytest.mark.django_db


def _tree(root):
    (root / "policies" / "hr").mkdir(parents=True)
    (root / "policies" / "leave.txt").write_bytes(b"Annual leave is 24 days. Unused days carry over to March.")
    (root / "policies" / "hr" / "travel.docx").write_bytes(make_docx("Travel", ["Trains are booked in 2nd class."]))
    (root / "policies" / "hr" / "allowances.xlsx").write_bytes(make_xlsx({"Rates": [["Grade", "Rate"], ["E1", 9]]}))
    (root / "policies" / "deck.pptx").write_bytes(make_pptx([("Onboarding", ["Laptops arrive on day one."])]))
    (root / "policies" / "approval.eml").write_bytes(make_eml("Approved", "The offsite budget is approved."))
    (root / "policies" / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # mislabelled image
    (root / "policies" / ".hidden.txt").write_bytes(b"Not ingested.")
    return root / "policies"


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_ingest_walks_folders_and_summarises(alice, tmp_path):
    folder = _tree(tmp_path)
    out, err = _run(str(folder), "--tenant", alice.tenant.slug, "--batch", "3")
    assert "indexed 5, skipped 0 (already ingested), failed 1, pending 0" in out
    assert "photo.txt: unsupported_media_type" in out
    assert "6/6 files" in err and "files/s" in err and "ETA" in err
    indexed = Document.objects.filter(tenant=alice.tenant, status="indexed")
    assert indexed.count() == 5
    assert Chunk.objects.filter(document__in=indexed).count() >= 5


def test_second_run_skips_what_is_already_ingested(alice, tmp_path):
    folder = _tree(tmp_path)
    _run(str(folder), "--tenant", alice.tenant.slug)
    out, _ = _run(str(folder), "--tenant", alice.tenant.slug)
    assert "indexed 0, skipped 5 (already ingested), failed 1" in out
    assert Document.objects.filter(tenant=alice.tenant).count() == 5


def test_interrupted_run_resumes_documents_left_queued(alice, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ingestion.upload import document_upload

    folder = _tree(tmp_path)
    # As if a previous run was stopped after uploading leave.txt but before processing it.
    leftover = document_upload(
        tenant=alice.tenant,
        user=None,
        upload=SimpleUploadedFile("leave.txt", (folder / "leave.txt").read_bytes()),
        enqueue=False,
    ).document
    out, _ = _run(str(folder), "--tenant", alice.tenant.slug)
    assert "indexed 5" in out
    leftover.refresh_from_db()
    assert leftover.status == "indexed"
    assert Document.objects.filter(tenant=alice.tenant).count() == 5


def test_unknown_tenant_or_path_is_an_error(alice, tmp_path):
    with pytest.raises(CommandError):
        _run(str(tmp_path), "--tenant", "nobody")
    with pytest.raises(CommandError):
        _run(str(tmp_path / "missing"), "--tenant", alice.tenant.slug)


def test_file_over_the_limit_is_reported_not_read(alice, tmp_path, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    (tmp_path / "big.txt").write_bytes(b"word " * 1000)
    out, _ = _run(str(tmp_path), "--tenant", alice.tenant.slug)
    assert "failed 1" in out and "file_too_large" in out
