-- Least privilege: an instance's application logs in as an owner role that is not a
-- superuser, in a database of its own; the superuser's login is the tenant's only when
-- asked for. Superuser access is turned on and off as an operation (`configuring`).

ALTER TABLE toygres_cms.instances ADD COLUMN owner_role text;
ALTER TABLE toygres_cms.instances ADD COLUMN database_name text;
ALTER TABLE toygres_cms.instances ADD COLUMN superuser_access boolean NOT NULL DEFAULT false;

-- Instances made before owner roles handed out the superuser's login: they keep it until
-- it is turned off. (A create still in flight is deployed by this version, with an owner.)
UPDATE toygres_cms.instances SET superuser_access = true WHERE state <> 'creating';

ALTER TABLE toygres_cms.instances DROP CONSTRAINT instances_state_check;
ALTER TABLE toygres_cms.instances ADD CONSTRAINT instances_state_check
    CHECK (state IN ('creating', 'running', 'stopping', 'stopped', 'starting', 'restarting',
                     'configuring', 'deleting', 'deleted', 'failed'));

-- What a superuser-access change in progress is for, so reconciliation can start again a
-- change whose orchestration was lost.
ALTER TABLE toygres_cms.instances ADD COLUMN superuser_access_wanted boolean;
