-- Switchovers and failovers: an instance with standbys can move its primary role to one
-- of them, as an operation (`switching_over`), and does when its primary fails
-- (`failing_over`). The member a switchover was asked for (its number, or none: the most
-- caught-up standby) is kept with the record, so reconciliation can start again a
-- switchover whose orchestration was lost, towards the same member.
ALTER TABLE toygres_cms.instances DROP CONSTRAINT instances_state_check;
ALTER TABLE toygres_cms.instances ADD CONSTRAINT instances_state_check
    CHECK (state IN ('creating', 'running', 'stopping', 'stopped', 'starting', 'restarting',
                     'configuring', 'switching_over', 'failing_over', 'deleting', 'deleted',
                     'failed'));
ALTER TABLE toygres_cms.instances ADD COLUMN switchover_to smallint;
