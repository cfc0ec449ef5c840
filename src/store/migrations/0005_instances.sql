-- 0005: several instances, and where a lab lives (issue 13).
-- `instances`: every `netpraxis serve` sharing the store registers itself under its stable id
-- (server.instance_id) and renews a lease; it says which lab providers it offers and how much room it has.
-- environments.instance_id: the instance a local lab lives on ('' for a lab any instance reaches: proxmox).
-- jobs.instance_id: the instance that must run the job ('' any); only that one claims it.
-- environments.observed_state also takes 'degraded' (a lab partly there) and 'unavailable' (its instance is
-- gone).

CREATE TABLE instances (
    id              TEXT PRIMARY KEY CHECK (id <> ''),
    providers       TEXT NOT NULL DEFAULT '',   -- the lab providers it offers, comma-separated: "local,proxmox"
    max_labs        INTEGER NOT NULL DEFAULT 0 CHECK (max_labs >= 0),  -- lab.max_labs (local labs)
    free_memory     BIGINT NOT NULL DEFAULT 0,  -- bytes available on its host at the last heartbeat
    memory_reserve  BIGINT NOT NULL DEFAULT 0,  -- bytes it keeps free: no new lab when free_memory is below
    address         TEXT NOT NULL DEFAULT '',   -- how other instances reach its API (console proxying)
    started_at      BIGINT NOT NULL,
    heartbeat_at    BIGINT NOT NULL,
    lease_expires   BIGINT NOT NULL
);

ALTER TABLE jobs ADD COLUMN instance_id TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_instance_idx ON jobs (instance_id, state);

--@ sqlite
-- SQLite cannot change a CHECK in place: the table is rebuilt (https://sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"). This runs inside the migration's transaction with foreign
-- keys on: the copy checks each row's assignment and student (they exist), and no table refers to
-- environments, so dropping the old one deletes nothing another row needs. The indexes go with the old
-- table and are made again.
CREATE TABLE environments_new (
    id              TEXT PRIMARY KEY,
    assignment_id   TEXT NOT NULL REFERENCES assignments (id),
    student_id      TEXT NOT NULL REFERENCES users (id),
    provider        TEXT NOT NULL CHECK (provider IN ('local', 'proxmox')),
    desired_state   TEXT NOT NULL DEFAULT 'absent' CHECK (desired_state IN ('absent', 'stopped', 'running')),
    observed_state  TEXT NOT NULL DEFAULT 'absent'
                    CHECK (observed_state IN ('absent', 'creating', 'stopped', 'running', 'deleting', 'error',
                                              'degraded', 'unavailable')),
    provider_ids    TEXT NOT NULL DEFAULT '{}',
    addresses       TEXT NOT NULL DEFAULT '{}',
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    instance_id     TEXT NOT NULL DEFAULT '',
    CONSTRAINT environments_assignment_key UNIQUE (assignment_id)
);
INSERT INTO environments_new (id, assignment_id, student_id, provider, desired_state, observed_state,
                              provider_ids, addresses, last_error, created_at, updated_at)
    SELECT id, assignment_id, student_id, provider, desired_state, observed_state, provider_ids, addresses,
           last_error, created_at, updated_at
    FROM environments;
DROP TABLE environments;
ALTER TABLE environments_new RENAME TO environments;
CREATE INDEX environments_student_idx ON environments (student_id, id);
CREATE INDEX environments_observed_state_idx ON environments (observed_state, id);
--@ end

--@ postgresql
ALTER TABLE environments ADD COLUMN instance_id TEXT NOT NULL DEFAULT '';
ALTER TABLE environments DROP CONSTRAINT environments_observed_state_check;
ALTER TABLE environments ADD CONSTRAINT environments_observed_state_check
    CHECK (observed_state IN ('absent', 'creating', 'stopped', 'running', 'deleting', 'error', 'degraded',
                              'unavailable'));
--@ end

CREATE INDEX environments_instance_idx ON environments (instance_id, id);
