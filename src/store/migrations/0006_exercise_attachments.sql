-- 0006: files attached to an exercise version (issues 10 and 11): the GNS3 portable project uploaded through
-- the API, the files of an uploaded zip. Content-addressed: `blobs` holds each content once under its
-- sha256, and every version holding the same file points at it (a new version of a 50 MiB project costs a
-- row, not 50 MiB). A blob no attachment refers to is deleted with the last attachment that named it
-- (store code, in the same transaction).
CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size        BIGINT NOT NULL CHECK (size >= 0),
--@ sqlite
    content     BLOB NOT NULL,
--@ end
--@ postgresql
    content     BYTEA NOT NULL,
--@ end
    created_at  BIGINT NOT NULL
);

CREATE TABLE exercise_attachments (
    version_id  TEXT NOT NULL REFERENCES exercise_versions (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (name <> ''),
    media_type  TEXT NOT NULL DEFAULT 'application/octet-stream',
    sha256      TEXT NOT NULL REFERENCES blobs (sha256),
    size        BIGINT NOT NULL CHECK (size >= 0),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (version_id, name)
);
CREATE INDEX exercise_attachments_sha256_idx ON exercise_attachments (sha256);
