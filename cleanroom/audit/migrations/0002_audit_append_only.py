"""A database-level guard behind the hash chain: rows of the audit table cannot be updated or deleted.

The one update allowed is the ORM clearing `tenant_id`/`actor_id` when a tenant or user is deleted (the entry keeps
their slug/label, and neither column is covered by the hash). TRUNCATE (test flushes, a superuser's deliberate
reset) is not a row trigger and stays possible, as does `ALTER TABLE audit_auditevent DISABLE TRIGGER
audit_append_only` by the table's owner: tests use it to prove that `audit verify` still catches tampering.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (NEW.tenant_id IS NULL OR NEW.tenant_id = OLD.tenant_id)
       AND (NEW.actor_id IS NULL OR NEW.actor_id = OLD.actor_id)
       AND (NEW.id, NEW.tenant_slug, NEW.actor_label, NEW.action, NEW.target_type, NEW.target_id,
            NEW.details::text, NEW.created_at, NEW.prev_hash, NEW.entry_hash)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.tenant_slug, OLD.actor_label, OLD.action, OLD.target_type, OLD.target_id,
            OLD.details::text, OLD.created_at, OLD.prev_hash, OLD.entry_hash)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % of entry % refused', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
