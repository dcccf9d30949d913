-- The PostgreSQL parameters a tenant asked for (`config set`), as `{"name": "value"}`: the
-- instance's desired parameters, kept with the record so the operation that applies them,
-- reconciliation that resumes it, and `config show` all read the same thing.
ALTER TABLE toygres_cms.instances ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
