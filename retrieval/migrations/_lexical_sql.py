"""SQL of the lexical index (used by 0001_lexical). Kept beside the migration, frozen with it: a later change to the
index gets a new migration with new SQL, never an edit here."""

# What is indexed for one chunk: the document title (its best summary), the section heading unless it is only a page
# number or repeats the title, and the redacted text. 'english' = Snowball stemming and stop words.
FUNCTIONS = r"""
CREATE FUNCTION retrieval_chunk_tsvector(title text, section text, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('english'::regconfig, concat_ws(' ', title,
        CASE WHEN section = title OR section LIKE 'page %' THEN NULL ELSE section END, body))
$$;

-- Recompute the lexical rows of these chunks: delete them, then insert those whose document is indexed (only
-- indexed documents are searchable; their title is final by then). The statistics follow by the triggers below.
CREATE FUNCTION retrieval_chunk_terms_refresh(chunk_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM retrieval_chunkterms WHERE chunk_id = ANY(chunk_ids);
    INSERT INTO retrieval_chunkterms (chunk_id, tenant_id, lexemes, tf, length)
    SELECT c.id, c.tenant_id, strip(v.vec), coalesce(s.tf, '{}'::jsonb), coalesce(s.len, 0)
    FROM ingestion_chunk c
    JOIN ingestion_document d ON d.id = c.document_id AND d.status = 'indexed'
    CROSS JOIN LATERAL (SELECT retrieval_chunk_tsvector(d.title, c.section, c.text)) AS v(vec)
    CROSS JOIN LATERAL (
        SELECT jsonb_object_agg(u.lexeme, cardinality(u.positions)), sum(cardinality(u.positions))
        FROM unnest(v.vec) AS u
    ) AS s(tf, len)
    WHERE c.id = ANY(chunk_ids)
    ORDER BY c.id;
$$;

CREATE FUNCTION retrieval_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM retrieval_chunk_terms_refresh(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END $$;

CREATE FUNCTION retrieval_chunks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM retrieval_chunk_terms_refresh(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.text, n.section, n.tenant_id) IS DISTINCT FROM (o.text, o.section, o.tenant_id)));
    RETURN NULL;
END $$;

CREATE FUNCTION retrieval_document_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM retrieval_chunk_terms_refresh(ARRAY(SELECT id FROM ingestion_chunk WHERE document_id = NEW.id));
    RETURN NULL;
END $$;

-- Collection statistics. The tenant's lexicon row is written first: its row lock serialises concurrent writers of
-- one tenant until they commit, so two workers never lock the same term rows in opposite orders (no deadlock).
CREATE FUNCTION retrieval_terms_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO retrieval_tenantlexicon AS s (tenant_id, chunks, total_length)
    SELECT tenant_id, count(*), sum(length) FROM new_rows GROUP BY tenant_id ORDER BY tenant_id
    ON CONFLICT (tenant_id) DO UPDATE
        SET chunks = s.chunks + excluded.chunks, total_length = s.total_length + excluded.total_length;
    INSERT INTO retrieval_tenantterm AS t (tenant_id, term, df)
    SELECT n.tenant_id, u.term, count(*)
    FROM new_rows n CROSS JOIN LATERAL unnest(tsvector_to_array(n.lexemes)) AS u(term)
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (tenant_id, term) DO UPDATE SET df = t.df + excluded.df;
    RETURN NULL;
END $$;

CREATE FUNCTION retrieval_terms_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE retrieval_tenantlexicon s
    SET chunks = s.chunks - o.chunks, total_length = s.total_length - o.total_length
    FROM (SELECT tenant_id, count(*) AS chunks, sum(length) AS total_length FROM old_rows GROUP BY tenant_id) o
    WHERE s.tenant_id = o.tenant_id;
    UPDATE retrieval_tenantterm t SET df = t.df - o.df
    FROM (
        SELECT n.tenant_id, u.term, count(*) AS df
        FROM old_rows n CROSS JOIN LATERAL unnest(tsvector_to_array(n.lexemes)) AS u(term)
        GROUP BY 1, 2
    ) o
    WHERE t.tenant_id = o.tenant_id AND t.term = o.term;
    DELETE FROM retrieval_tenantterm t USING (SELECT DISTINCT tenant_id FROM old_rows) o
    WHERE t.tenant_id = o.tenant_id AND t.df <= 0;
    RETURN NULL;
END $$;

-- One statement for all deleted chunks (a foreign key's cascade would run one per chunk, each firing the
-- statistics trigger).
CREATE FUNCTION retrieval_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM retrieval_chunkterms WHERE chunk_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER retrieval_chunks_inserted AFTER INSERT ON ingestion_chunk
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION retrieval_chunks_inserted();
CREATE TRIGGER retrieval_chunks_deleted AFTER DELETE ON ingestion_chunk
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION retrieval_chunks_deleted();
CREATE TRIGGER retrieval_chunks_updated AFTER UPDATE ON ingestion_chunk
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION retrieval_chunks_updated();
CREATE TRIGGER retrieval_document_changed AFTER UPDATE OF status, title ON ingestion_document
    FOR EACH ROW WHEN ((OLD.status = 'indexed' OR NEW.status = 'indexed')
        AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.title IS DISTINCT FROM NEW.title))
    EXECUTE FUNCTION retrieval_document_changed();
CREATE TRIGGER retrieval_terms_added AFTER INSERT ON retrieval_chunkterms
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION retrieval_terms_added();
CREATE TRIGGER retrieval_terms_removed AFTER DELETE ON retrieval_chunkterms
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION retrieval_terms_removed();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS retrieval_chunks_inserted ON ingestion_chunk;
DROP TRIGGER IF EXISTS retrieval_chunks_updated ON ingestion_chunk;
DROP TRIGGER IF EXISTS retrieval_chunks_deleted ON ingestion_chunk;
DROP TRIGGER IF EXISTS retrieval_document_changed ON ingestion_document;
DROP FUNCTION IF EXISTS retrieval_chunks_inserted(), retrieval_chunks_updated(), retrieval_chunks_deleted(), retrieval_document_changed(),
    retrieval_terms_added(), retrieval_terms_removed(), retrieval_chunk_terms_refresh(bigint[]),
    retrieval_chunk_tsvector(text, text, text);
"""

# Existing chunks of indexed documents (a database migrated after documents were ingested).
BACKFILL = "SELECT retrieval_chunk_terms_refresh(ARRAY(SELECT id FROM ingestion_chunk))"
