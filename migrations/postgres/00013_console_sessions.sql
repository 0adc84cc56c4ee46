-- Signing in to the console. Local accounts keep an argon2id hash of their password (PHC
-- string; never the password); people who sign in through the bank's identity provider are
-- linked by the provider's issuer and subject. A console session is kept server-side, and only
-- the SHA-256 of its secret (the cookie's value) is stored, as for API tokens, so a copy of the
-- database lets nobody sign in. Keep sqlite/00013_console_sessions.sql equivalent.

-- +goose Up
ALTER TABLE users
    ADD COLUMN password_hash   text NOT NULL DEFAULT '',
    ADD COLUMN password_set_at timestamptz(3),
    ADD COLUMN oidc_issuer     text NOT NULL DEFAULT '',
    ADD COLUMN oidc_subject    text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_oidc_identity_key ON users (oidc_issuer, oidc_subject) WHERE oidc_subject <> '';

CREATE TABLE console_sessions (
    id            text           PRIMARY KEY,
    secret_hash   text           NOT NULL,
    user_name     text           NOT NULL REFERENCES users (name),
    method        text           NOT NULL,
    client_addr   text           NOT NULL DEFAULT '',
    created_at    timestamptz(3) NOT NULL,
    last_seen_at  timestamptz(3) NOT NULL,
    expires_at    timestamptz(3) NOT NULL,
    revoked_at    timestamptz(3),
    revoke_reason text           NOT NULL DEFAULT '',
    CONSTRAINT console_sessions_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT console_sessions_method_check CHECK (method IN ('password', 'oidc'))
);
CREATE INDEX console_sessions_user_name_idx ON console_sessions (user_name);

-- +goose Down
DROP TABLE console_sessions;
DROP INDEX users_oidc_identity_key;
ALTER TABLE users
    DROP COLUMN password_hash,
    DROP COLUMN password_set_at,
    DROP COLUMN oidc_issuer,
    DROP COLUMN oidc_subject;
