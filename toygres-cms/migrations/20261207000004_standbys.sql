-- Standbys: how many streaming standbys an instance was asked to keep beside its primary,
-- and whether its commits wait for one of them. Kept with the record so a create that
-- reconciliation starts again, or a restore, makes the same members.
ALTER TABLE toygres_cms.instances
    ADD COLUMN standbys smallint NOT NULL DEFAULT 0 CHECK (standbys BETWEEN 0 AND 4),
    ADD COLUMN synchronous_standbys boolean NOT NULL DEFAULT false
        CHECK (NOT synchronous_standbys OR standbys > 0);

-- Failure detection lists the running instances with standbys twice a second.
CREATE INDEX instances_running_with_standbys ON toygres_cms.instances (created_at)
    WHERE state = 'running' AND standbys > 0;
