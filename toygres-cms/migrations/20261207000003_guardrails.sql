-- Guardrails for WAL and disk: an instance whose WAL archiving fails, or whose disk is
-- nearly full, is `degraded` (reachable, but heading for trouble) with the reason kept
-- beside its health; while its archiving is stuck, `wal_archived_until` holds how far its
-- archived WAL reaches (what a point-in-time restore can reach). Every change of health
-- between healthy, unhealthy and degraded is kept as a health event.
ALTER TABLE toygres_cms.instances DROP CONSTRAINT instances_health_status_check;
ALTER TABLE toygres_cms.instances ADD CONSTRAINT instances_health_status_check
    CHECK (health_status IN ('unknown', 'healthy', 'unhealthy', 'degraded'));
ALTER TABLE toygres_cms.instances
    ADD COLUMN health_reason text,
    ADD COLUMN wal_archived_until timestamptz;

CREATE TABLE toygres_cms.health_events (
    id          bigserial PRIMARY KEY,
    instance_id uuid NOT NULL REFERENCES toygres_cms.instances (id),
    from_status text NOT NULL,
    to_status   text NOT NULL,
    reason      text,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX health_events_by_instance ON toygres_cms.health_events (instance_id, id);
