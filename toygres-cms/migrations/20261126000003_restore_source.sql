-- A restored instance's source (which backup, up to when), kept with the record so that
-- a create the server could not start is started again as the same restore.
ALTER TABLE toygres_cms.instances ADD COLUMN restore_source jsonb;
