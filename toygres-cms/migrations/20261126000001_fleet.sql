-- A fleet of instances over months: health rows keyed without the orchestration clock,
-- trimmed by age, and reads that skip deleted records through indexes.

-- create/delete/actor 1.1.0 record a probe under the actor's incarnation and check number
-- (a retried insert is a no-op) and let the database stamp the time.
ALTER TABLE toygres_cms.health_checks ADD COLUMN probe_key text;
CREATE UNIQUE INDEX health_checks_probe_key ON toygres_cms.health_checks (instance_id, probe_key)
    WHERE probe_key IS NOT NULL;
-- The pruner deletes rows older than the retention.
CREATE INDEX health_checks_by_time ON toygres_cms.health_checks (checked_at);

-- `list` and reconciliation read live records only; `get` finds the newest record of a name.
CREATE INDEX instances_live_by_created ON toygres_cms.instances (created_at DESC)
    WHERE state <> 'deleted';
CREATE INDEX instances_by_name ON toygres_cms.instances (name, created_at DESC);
