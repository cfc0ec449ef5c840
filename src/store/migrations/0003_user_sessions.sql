-- 0003: a session follows its user. session_gen is written into every token issued to the user and goes
-- up whenever the user's role, password or status changes; tokens of an older generation are refused
-- (auth::JwtCodec, told through revoked_tokens rows 'user:<id>:<gen>' that every instance polls).
-- A disabled user cannot log in and loses every session at once.
ALTER TABLE users ADD COLUMN session_gen BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
