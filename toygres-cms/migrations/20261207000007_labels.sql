-- Labels on instances (`{"team": "web"}`), set at create and changed later, for selecting
-- instances the way `kubectl -l` does.
ALTER TABLE toygres_cms.instances ADD COLUMN labels jsonb NOT NULL DEFAULT '{}';
