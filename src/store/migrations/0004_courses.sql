-- 0004: running a course (issue 12). Courses and their rosters, the grading rules of an assignment that
-- 0001's columns cannot hold, and what an evaluation was graded with.
-- Shared by SQLite and PostgreSQL (portable SQL only).

CREATE TABLE courses (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL CHECK (slug <> ''),
    title       TEXT NOT NULL DEFAULT '',
    group_names TEXT NOT NULL DEFAULT '[]',  -- JSON array of group names; empty: any group is accepted
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    CONSTRAINT courses_slug_key UNIQUE (slug)
);

-- A roster line: a user (possibly created by the import, before their first login: users are keyed by
-- realm + username, and the first login through that realm finds the row) in a course, with a group.
CREATE TABLE course_members (
    course_id   TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_name  TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (course_id, user_id)
);
CREATE INDEX course_members_user_idx ON course_members (user_id);

-- The rules of an assignment beyond deadline, max_attempts and cooldown_seconds (0001). SQLite cannot
-- change 0001's CHECK on assignments.score_policy (last | best) without rebuilding a table others refer
-- to, so the score rule lives here; the store reads it in place of score_policy (which keeps 'last' for
-- 'average'). One row per assignment, written with it; an assignment of 0001-0003 has none (its
-- score_policy, refuse late submissions, no penalty, hidden checks revealed after the deadline).
CREATE TABLE assignment_rules (
    assignment_id  TEXT PRIMARY KEY REFERENCES assignments (id) ON DELETE CASCADE,
    course_id      TEXT NOT NULL DEFAULT '',
    score          TEXT NOT NULL DEFAULT 'last' CHECK (score IN ('last', 'best', 'average')),
    late           TEXT NOT NULL DEFAULT 'refuse' CHECK (late IN ('refuse', 'accept')),
    late_penalty   INTEGER NOT NULL DEFAULT 0 CHECK (late_penalty >= 0 AND late_penalty <= 100),
    keep_hidden    INTEGER NOT NULL DEFAULT 0 CHECK (keep_hidden IN (0, 1))
);
CREATE INDEX assignment_rules_course_idx ON assignment_rules (course_id, assignment_id);

-- What an evaluation was graded with (a class re-graded after a spec fix keeps both results), whether it
-- came after the deadline, and the class-grading job that made it ('' when the student asked).
ALTER TABLE evaluations ADD COLUMN exercise_version_id TEXT NOT NULL DEFAULT '';
ALTER TABLE evaluations ADD COLUMN late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1));
ALTER TABLE evaluations ADD COLUMN run_id TEXT NOT NULL DEFAULT '';
CREATE INDEX evaluations_run_idx ON evaluations (run_id, id);
