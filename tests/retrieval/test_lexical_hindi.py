"""Lexical search over Hindi and mixed Hindi-English text (retrieval migration 0003), and the language of chunks."""

from __future__ import annotations

from django.db import connection

from ingestion.language import text_language
from ingestion.models import Chunk
from retrieval.models import ChunkTerms, TenantLexicon, TenantTerm
from retrieval.selectors import chunk_search
from tests.conftest import ingest

HINDI = (
    "# अवकाश नियम\n\n"
    "सभी स्थायी कर्मचारियों को हर वर्ष ३० दिन की वार्षिक छुट्टी मिलेगी। छुट्टी के लिए आवेदन विभाग प्रमुख को "
    "कम से कम सात दिन पहले देना होगा। These leave policies apply from April.\n"
)
ENGLISH = "# Travel\n\nStaff who travel for work book trains through the travel desk and keep every receipt.\n"


def _hits(tenant, query: str) -> list[str]:
    return [hit.document_id for hit in chunk_search(tenant=tenant, query=query, k=5, mode="lexical")]


def test_hindi_words_match_across_inflections_and_digit_scripts(alice):
    hindi = ingest(alice, "avkash.md", HINDI.encode())
    english = ingest(alice, "travel.md", ENGLISH.encode())
    assert hindi.status == english.status == "indexed"
    # कर्मचारियों (plural oblique) in the text, कर्मचारी in the question: one stem.
    assert _hits(alice.tenant, "कर्मचारी") == [str(hindi.pk)]
    assert _hits(alice.tenant, "नियमों") == [str(hindi.pk)]  # the heading has नियम
    # ३० in the text, 30 in the question, and the other way round.
    assert _hits(alice.tenant, "30 दिन")[0] == str(hindi.pk)
    # The English words of a Hindi chunk are still stemmed as English: "policy" finds "policies".
    assert _hits(alice.tenant, "leave policy") == [str(hindi.pk)]
    assert _hits(alice.tenant, "receipts") == [str(english.pk)]
    assert not _hits(alice.tenant, "वेतन")  # a word the documents do not have


def test_chunks_record_their_language(alice):
    hindi = ingest(alice, "avkash.md", HINDI.encode())
    english = ingest(alice, "travel.md", ENGLISH.encode())
    assert set(Chunk.objects.filter(document=hindi).values_list("language", flat=True)) == {"hi"}
    assert set(Chunk.objects.filter(document=english).values_list("language", flat=True)) == {"en"}
    hindi.refresh_from_db()
    assert hindi.manifest["languages"] == {"hi": hindi.chunk_count}
    assert text_language("<PERSON> [1] 42") == "und"  # placeholders, citations and numbers carry no language
    assert text_language("Die Mitarbeiter erhalten jedes Jahr dreißig Tage Urlaub.") == "de"


def test_bm25_statistics_follow_the_new_lexemes(alice):
    ingest(alice, "avkash.md", HINDI.encode())
    ingest(alice, "travel.md", ENGLISH.encode())
    terms = ChunkTerms.objects.filter(tenant=alice.tenant)
    lexicon = TenantLexicon.objects.get(tenant=alice.tenant)
    assert lexicon.chunks == terms.count()
    assert lexicon.total_length == sum(terms.values_list("length", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT lexeme FROM unnest(retrieval_query_tsvector('कर्मचारियों नियम'))")
        stems = [row[0] for row in cursor.fetchall()]
    for stem in stems:
        df = TenantTerm.objects.get(tenant=alice.tenant, term=stem).df
        assert df == sum(1 for t in terms if stem in t.tf)
