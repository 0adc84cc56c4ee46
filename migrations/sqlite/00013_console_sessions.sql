-- See postgres/00013_console_sessions.sql.

-- +goose Up
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_set_at DATETIME;
ALTER TABLE users ADD COLUMN oidc_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN oidc_subject TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_oidc_identity_key ON users (oidc_issuer, oidc_subject) WHERE oidc_subject <> '';

CREATE TABLE console_sessions (
    id            TEXT     NOT NULL PRIMARY KEY,
    secret_hash   TEXT     NOT NULL UNIQUE,
    user_name     TEXT     NOT NULL REFERENCES users (name),
    method        TEXT     NOT NULL CHECK (method IN ('password', 'oidc')),
    client_addr   TEXT     NOT NULL DEFAULT '',
    created_at    DATETIME NOT NULL,
    last_seen_at  DATETIME NOT NULL,
    expires_at    DATETIME NOT NULL,
    revoked_at    DATETIME,
    revoke_reason TEXT     NOT NULL DEFAULT ''
);
CREATE INDEX console_sessions_user_name_idx ON console_sessions (user_name);

-- +goose Down
DROP TABLE console_sessions;
DROP INDEX users_oidc_identity_key;
ALTER TABLE users DROP COLUMN oidc_subject;
ALTER TABLE users DROP COLUMN oidc_issuer;
ALTER TABLE users DROP COLUMN password_set_at;
ALTER TABLE users DROP COLUMN password_hash;
