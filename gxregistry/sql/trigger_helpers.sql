-- django-pgtrigger's and django-pghistory's helper functions, which every trigger they install calls, without their
-- EXCEPTION blocks. Each such block opens a subtransaction at every call: on every audited or guarded row written
-- anywhere in the registry (an order and its trade: a dozen). Same results: an unset or reset setting (the empty
-- string a SET LOCAL leaves behind) reads as none. Installed after every migrate (gxregistry.apps), because each
-- trigger pgtrigger installs puts its own version of _pgtrigger_should_ignore back.

CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name name) RETURNS boolean AS $$
DECLARE
  v_ignore text := current_setting('pgtrigger.ignore', true);
BEGIN
  IF v_ignore IS NULL OR v_ignore = '' THEN
    RETURN false;
  END IF;
  RETURN trigger_name = ANY (v_ignore::text[]);
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION _pgh_attach_context() RETURNS uuid AS $$
DECLARE
  v_id uuid := NULLIF(current_setting('pghistory.context_id', true), '')::uuid;
  v_metadata jsonb := NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;
BEGIN
  IF v_id IS NULL OR v_metadata IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO pghistory_context (id, metadata, created_at, updated_at) VALUES (v_id, v_metadata, now(), now())
  ON CONFLICT (id) DO UPDATE SET metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
   WHERE pghistory_context.metadata != EXCLUDED.metadata;
  RETURN v_id;
END $$ LANGUAGE plpgsql;
