-- 0007: the audit log records the outcome and the actor's name (issue 11, the audit page).
-- outcome: ok (done), denied (refused: a wrong password, a forbidden action), failed (tried and failed).
-- actor_name: the username as it was (a failed login has no user id; a deleted user keeps their name here).
-- Adding columns fires no UPDATE trigger: the log stays append-only. The indexes serve the page's filters
-- (by actor, by action) newest first.
ALTER TABLE audit_log ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'denied', 'failed'));
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
