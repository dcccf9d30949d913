-- The settings the system orchestrations (history pruner, warm pool) run with: one row,
-- written by each server as it starts (the newest server's settings win) and read by every
-- reconciliation pass, so servers started with different flags agree instead of replacing
-- each other's singletons on every pass.
CREATE TABLE toygres_cms.system_settings (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    settings   jsonb NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);
