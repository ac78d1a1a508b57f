"""Lexical search for Hindi and mixed Hindi-English text.

One text search configuration, `cleanroom_text`, stems each word by its script: ASCII words with Snowball English
(as before, stop words included), every other word (Devanagari above all) with Snowball Hindi, which only strips
Devanagari suffixes (नियमों -> नियम) and leaves other scripts as they are. A per-chunk configuration would stem the
English words of a Hindi chunk as Hindi (not at all) and cannot be chosen for a query, whose language is unknown.
Indian digits (Devanagari ३१ and the other scripts') are read as ASCII digits on both sides, so "31" finds "३१".

The query side uses the same function (`retrieval_query_tsvector`), so documents and queries are always analysed
alike, and the BM25 statistics are rebuilt from the new lexemes by the existing triggers (the backfill refreshes
every chunk of an indexed document).
"""

from django.db import migrations

# Devanagari, Bengali, Gurmukhi, Gujarati, Odia, Tamil, Telugu, Kannada, Malayalam digits.
_BLOCKS = (0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66)
INDIC_DIGITS = "".join(chr(block + d) for block in _BLOCKS for d in range(10))
ASCII_DIGITS = "0123456789" * len(_BLOCKS)

# The f-string interpolates this module's digit constants only.
FORWARD = rf"""
CREATE TEXT SEARCH CONFIGURATION cleanroom_text (COPY = english);
ALTER TEXT SEARCH CONFIGURATION cleanroom_text ALTER MAPPING FOR word, hword, hword_part WITH hindi_stem;

CREATE FUNCTION retrieval_query_tsvector(q text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('cleanroom_text'::regconfig, translate(q, '{INDIC_DIGITS}', '{ASCII_DIGITS}'))
$$;

CREATE OR REPLACE FUNCTION retrieval_chunk_tsvector(title text, section text, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT retrieval_query_tsvector(concat_ws(' ', title,
        CASE WHEN section = title OR section LIKE 'page %' THEN NULL ELSE section END, body))
$$;

SELECT retrieval_chunk_terms_refresh(ARRAY(SELECT id FROM ingestion_chunk));
"""  # noqa: S608

REVERSE = r"""
CREATE OR REPLACE FUNCTION retrieval_chunk_tsvector(title text, section text, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('english'::regconfig, concat_ws(' ', title,
        CASE WHEN section = title OR section LIKE 'page %' THEN NULL ELSE section END, body))
$$;
DROP FUNCTION IF EXISTS retrieval_query_tsvector(text);
DROP TEXT SEARCH CONFIGURATION IF EXISTS cleanroom_text;
SELECT retrieval_chunk_terms_refresh(ARRAY(SELECT id FROM ingestion_chunk));
"""


class Migration(migrations.Migration):
    dependencies = [
        ("retrieval", "0002_conversations"),
        ("ingestion", "0007_chunk_language"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
