-- The control plane's metadata store (CMS): what instances exist, what happened to them,
-- and how healthy they have been. Passwords are never stored here.
CREATE SCHEMA IF NOT EXISTS toygres_cms;

CREATE TABLE toygres_cms.instances (
    id                       uuid PRIMARY KEY,
    name                     text NOT NULL,
    state                    text NOT NULL
        CHECK (state IN ('creating', 'running', 'deleting', 'deleted', 'failed')),
    platform                 text NOT NULL,
    postgres_version         text NOT NULL,
    storage_gb               integer NOT NULL CHECK (storage_gb > 0),
    endpoint_host            text,
    endpoint_port            integer,
    endpoint_user            text,
    endpoint_database        text,
    health_status            text NOT NULL DEFAULT 'unknown'
        CHECK (health_status IN ('unknown', 'healthy', 'unhealthy')),
    last_health_check_at     timestamptz,
    create_orchestration_id  text NOT NULL UNIQUE,
    delete_orchestration_id  text,
    actor_orchestration_id   text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at               timestamptz,
    last_error               text
);

-- A name identifies one live instance; deleted rows stay as history and free the name.
CREATE UNIQUE INDEX instances_live_name ON toygres_cms.instances (name)
    WHERE state <> 'deleted';

CREATE TABLE toygres_cms.instance_events (
    id               bigserial PRIMARY KEY,
    instance_id      uuid NOT NULL REFERENCES toygres_cms.instances (id),
    from_state       text,
    to_state         text NOT NULL,
    message          text,
    orchestration_id text,
    occurred_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX instance_events_by_instance ON toygres_cms.instance_events (instance_id, id);

CREATE TABLE toygres_cms.health_checks (
    instance_id  uuid NOT NULL REFERENCES toygres_cms.instances (id),
    -- From the actor orchestration's utc_now(): a retried insert carries the same value.
    checked_at   timestamptz NOT NULL,
    ok           boolean NOT NULL,
    latency_ms   integer,
    message      text,
    PRIMARY KEY (instance_id, checked_at)
);
