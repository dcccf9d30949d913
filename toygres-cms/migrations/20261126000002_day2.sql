-- Day-2 operations: stop, start and restart pass through their own states, and backups
-- (and their schedules) are records of their own.

ALTER TABLE toygres_cms.instances DROP CONSTRAINT instances_state_check;
ALTER TABLE toygres_cms.instances ADD CONSTRAINT instances_state_check
    CHECK (state IN ('creating', 'running', 'stopping', 'stopped', 'starting', 'restarting',
                     'deleting', 'deleted', 'failed'));

-- One row per backup of an instance. The instance may be deleted since: its backups stay
-- until they expire or are deleted, so the name and the pgBackRest stanza are kept here.
CREATE TABLE toygres_cms.backups (
    id                uuid PRIMARY KEY,
    instance_id       uuid NOT NULL REFERENCES toygres_cms.instances (id),
    instance_name     text NOT NULL,
    stanza            text NOT NULL,
    state             text NOT NULL
        CHECK (state IN ('running', 'completed', 'failed', 'expired', 'deleted')),
    scheduled         boolean NOT NULL DEFAULT false,
    orchestration_id  text NOT NULL UNIQUE,
    label             text,
    size_bytes        bigint,
    repository_bytes  bigint,
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    error             text
);
CREATE INDEX backups_by_instance ON toygres_cms.backups (instance_id, started_at DESC);
CREATE INDEX backups_by_started ON toygres_cms.backups (started_at DESC);

-- At most one schedule per instance.
CREATE TABLE toygres_cms.backup_schedules (
    instance_id       uuid PRIMARY KEY REFERENCES toygres_cms.instances (id),
    every_secs        bigint NOT NULL CHECK (every_secs > 0),
    keep              integer NOT NULL CHECK (keep > 0),
    orchestration_id  text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- The stop, start, restart (or backup) orchestration that last acted on the instance, so
-- `get` can show the step in progress and reconciliation can restart a lost one.
ALTER TABLE toygres_cms.instances ADD COLUMN operation_orchestration_id text;
