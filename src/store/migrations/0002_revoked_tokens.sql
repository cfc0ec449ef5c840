-- Session tokens revoked by logout, kept until they would have expired anyway, so that a revocation
-- survives a restart and reaches every instance sharing the store (they poll by revoked_at).
CREATE TABLE revoked_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_revoked_at_idx ON revoked_tokens (revoked_at);
