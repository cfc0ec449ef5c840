-- 0001_init: every entity of DESIGN.md ("Persistence").
-- Shared by SQLite and PostgreSQL. Lines between `--@ sqlite` / `--@ postgresql` and `--@ end` are
-- applied only by that engine (see migrations.hpp); everything else is portable SQL.
-- Ids are core::new_id() text (time-ordered), times are unix seconds, JSON travels as text.

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id                    TEXT PRIMARY KEY,
    username              TEXT NOT NULL CHECK (username <> ''),
    realm                 TEXT NOT NULL CHECK (realm <> ''),
    role                  TEXT NOT NULL CHECK (role IN ('teacher', 'student')),
    display_name          TEXT NOT NULL DEFAULT '',
    password_hash         TEXT NOT NULL DEFAULT '',
    must_change_password  INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    created_at            BIGINT NOT NULL,
    CONSTRAINT users_username_realm_key UNIQUE (username, realm)
);
CREATE INDEX users_role_idx ON users (role, id);
CREATE INDEX users_realm_idx ON users (realm, id);

-- created_by columns keep the author's id without a foreign key: history survives the author's deletion.
CREATE TABLE exercises (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL CHECK (slug <> ''),
    title       TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    CONSTRAINT exercises_slug_key UNIQUE (slug)
);

CREATE TABLE exercise_versions (
    id            TEXT PRIMARY KEY,
    exercise_id   TEXT NOT NULL REFERENCES exercises (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL CHECK (version >= 1),
    state         TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published')),
    instructions  TEXT NOT NULL DEFAULT '',
    spec          TEXT NOT NULL DEFAULT '',
    topology      TEXT NOT NULL DEFAULT '',
    gns3_project  TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    published_at  BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT exercise_versions_exercise_version_key UNIQUE (exercise_id, version),
    -- target of the assignments' composite key: an assignment's version belongs to its exercise
    CONSTRAINT exercise_versions_id_exercise_key UNIQUE (id, exercise_id)
);

CREATE TABLE assignments (
    id                   TEXT PRIMARY KEY,
    exercise_id          TEXT NOT NULL REFERENCES exercises (id),
    exercise_version_id  TEXT NOT NULL,
    student_id           TEXT NOT NULL REFERENCES users (id),
    created_by           TEXT NOT NULL DEFAULT '',
    deadline             BIGINT NOT NULL DEFAULT 0,
    max_attempts         INTEGER NOT NULL DEFAULT 0 CHECK (max_attempts >= 0),
    cooldown_seconds     INTEGER NOT NULL DEFAULT 0 CHECK (cooldown_seconds >= 0),
    score_policy         TEXT NOT NULL DEFAULT 'last' CHECK (score_policy IN ('last', 'best')),
    created_at           BIGINT NOT NULL,
    CONSTRAINT assignments_exercise_student_key UNIQUE (exercise_id, student_id),
    CONSTRAINT assignments_version_fkey FOREIGN KEY (exercise_version_id, exercise_id)
        REFERENCES exercise_versions (id, exercise_id)
);
CREATE INDEX assignments_student_idx ON assignments (student_id, id);
CREATE INDEX assignments_exercise_idx ON assignments (exercise_id, id);
CREATE INDEX assignments_version_idx ON assignments (exercise_version_id, exercise_id);

-- An assignment's environment must be deleted (its lab destroyed) before the assignment: no cascade.
CREATE TABLE environments (
    id              TEXT PRIMARY KEY,
    assignment_id   TEXT NOT NULL REFERENCES assignments (id),
    student_id      TEXT NOT NULL REFERENCES users (id),
    provider        TEXT NOT NULL CHECK (provider IN ('local', 'proxmox')),
    desired_state   TEXT NOT NULL DEFAULT 'absent' CHECK (desired_state IN ('absent', 'stopped', 'running')),
    observed_state  TEXT NOT NULL DEFAULT 'absent'
                    CHECK (observed_state IN ('absent', 'creating', 'stopped', 'running', 'deleting', 'error')),
    provider_ids    TEXT NOT NULL DEFAULT '{}',
    addresses       TEXT NOT NULL DEFAULT '{}',
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CONSTRAINT environments_assignment_key UNIQUE (assignment_id)
);
CREATE INDEX environments_student_idx ON environments (student_id, id);
CREATE INDEX environments_observed_state_idx ON environments (observed_state, id);

-- Evaluations are the assignment's attempt history: they go with the assignment.
CREATE TABLE evaluations (
    id             TEXT PRIMARY KEY,
    assignment_id  TEXT NOT NULL REFERENCES assignments (id) ON DELETE CASCADE,
    student_id     TEXT NOT NULL REFERENCES users (id),
    attempt        INTEGER NOT NULL CHECK (attempt >= 1),
    status         TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'error')),
    score          DOUBLE PRECISION NOT NULL DEFAULT 0,
    max_score      DOUBLE PRECISION NOT NULL DEFAULT 0,
    results        TEXT NOT NULL DEFAULT '[]',
    transcript     TEXT NOT NULL DEFAULT '[]',
    error          TEXT NOT NULL DEFAULT '',
    job_id         TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    finished_at    BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT evaluations_assignment_attempt_key UNIQUE (assignment_id, attempt)
);
CREATE INDEX evaluations_student_idx ON evaluations (student_id, id);
CREATE INDEX evaluations_status_idx ON evaluations (status, id);
CREATE INDEX evaluations_assignment_idx ON evaluations (assignment_id, id);

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind <> ''),
    params          TEXT NOT NULL DEFAULT '{}',
    state           TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress_done   BIGINT NOT NULL DEFAULT 0,
    progress_total  BIGINT NOT NULL DEFAULT 0,
    message         TEXT NOT NULL DEFAULT '',
    owner_id        TEXT NOT NULL DEFAULT '',
    attempt         INTEGER NOT NULL DEFAULT 0,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_expires   BIGINT NOT NULL DEFAULT 0,
    result          TEXT NOT NULL DEFAULT '{}',
    error           TEXT NOT NULL DEFAULT '',
    subject_type    TEXT NOT NULL DEFAULT '',
    subject_id      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    started_at      BIGINT NOT NULL DEFAULT 0,
    finished_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_state_idx ON jobs (state, id);
CREATE INDEX jobs_kind_idx ON jobs (kind, id);
CREATE INDEX jobs_owner_idx ON jobs (owner_id, id);
CREATE INDEX jobs_subject_idx ON jobs (subject_id, id);
-- claim_job: expired leases of running jobs
CREATE INDEX jobs_lease_idx ON jobs (state, lease_expires);

--@ sqlite
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           BIGINT NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL CHECK (action <> ''),
    object_type  TEXT NOT NULL DEFAULT '',
    object_id    TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '{}'
);

-- The audit log is append-only, and a published exercise version is immutable: the engine refuses
-- otherwise, whatever the code above it does.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER exercise_versions_published_immutable BEFORE UPDATE ON exercise_versions
WHEN OLD.state = 'published'
BEGIN
    SELECT RAISE(ABORT, 'a published exercise version is immutable');
END;
--@ end

--@ postgresql
CREATE TABLE audit_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL CHECK (action <> ''),
    object_type  TEXT NOT NULL DEFAULT '',
    object_id    TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '{}'
);

CREATE FUNCTION np_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION np_refuse_change('audit_log is append-only');
CREATE TRIGGER exercise_versions_published_immutable BEFORE UPDATE ON exercise_versions
    FOR EACH ROW WHEN (OLD.state = 'published')
    EXECUTE FUNCTION np_refuse_change('a published exercise version is immutable');
--@ end

CREATE INDEX audit_log_object_idx ON audit_log (object_id, id);
