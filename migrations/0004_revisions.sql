-- Every change of an application or a configuration, as one row: written in the writer's own
-- transaction by the triggers of db/functions/app_private/*_revision.sql, whoever the writer
-- is (the API, a DBA calling the functions, a DBA editing the tables). The seed's two tables
-- are unchanged; this one sits beside them. See db/README.md, "Revisions".
CREATE SEQUENCE revision_numbers AS bigint;

CREATE TABLE revisions (
  -- Taken under one lock held until commit (app_private.revision_record): numbers commit in
  -- their order, so what a reader sees is always every revision up to some number.
  revision         bigint PRIMARY KEY,
  entity           text NOT NULL CHECK (entity IN ('application', 'configuration')),
  id               text NOT NULL,
  application_id   text NOT NULL,
  action           text NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
  -- The resource as its *_get function returned it after the change; none after a delete.
  state            jsonb,
  etag             text,
  -- A configuration's creation or deletion changes its application's configuration_ids: the
  -- application's new ETag, as the notification carries it.
  application_etag text,
  changed_at       timestamptz NOT NULL,
  changed_by       text NOT NULL,
  CHECK ((action = 'deleted') = (state IS NULL)),
  CHECK ((state IS NULL) = (etag IS NULL))
);
COMMENT ON TABLE revisions IS
  'Every create, update and delete of an application or configuration, numbered in commit order; '
  'pruned by revisions_prune() (db/README.md, Revisions).';

-- A resource's history, newest first; an application's changes after a revision (event streams).
CREATE INDEX revisions_of_resource ON revisions (id, revision);
CREATE INDEX revisions_of_application ON revisions (application_id, revision);

-- How far revisions_prune() has looked, and the newest revision it deleted: the change feed is
-- complete after that one, and answers 410 to a cursor before it.
CREATE TABLE app_private.revision_retention (
  one             boolean PRIMARY KEY DEFAULT true CHECK (one),
  scanned_through bigint NOT NULL DEFAULT 0,
  pruned_through  bigint NOT NULL DEFAULT 0
);
INSERT INTO app_private.revision_retention DEFAULT VALUES;

REVOKE ALL ON revisions, revision_numbers FROM PUBLIC;

-- What exists already gets a first revision, so that it has a history to diff and revert to.
-- Writes wait while it is read. The triggers start with the functions' deploy, right after the
-- migrations in the same `up`: a write in between is not recorded (db/README.md, Revisions).
LOCK TABLE applications, configurations IN SHARE MODE;
INSERT INTO revisions (revision, entity, id, application_id, action, state, etag, changed_at, changed_by)
SELECT nextval('revision_numbers'), entity, id, application_id, 'created', state,
       '"' || left(encode(sha256(convert_to(state::json::text, 'UTF8')), 'hex'), 32) || '"', now(), current_user
  FROM (SELECT 'application' AS entity, a.id, a.id AS application_id,
               jsonb_build_object('id', a.id, 'name', a.name, 'comments', a.comments,
                                  'configuration_ids', coalesce((SELECT jsonb_agg(c.id ORDER BY c.id)
                                                                   FROM configurations c
                                                                  WHERE c.application_id = a.id), '[]'::jsonb)) AS state,
               1 AS kind
          FROM applications a
        UNION ALL
        SELECT 'configuration', c.id, c.application_id,
               jsonb_build_object('id', c.id, 'application_id', c.application_id, 'name', c.name,
                                  'comments', c.comments, 'config', c.config),
               2
          FROM configurations c
         ORDER BY kind, id) AS existing;
