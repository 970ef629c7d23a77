-- The hub's first schema: the same records as the badger store (see
-- package doc). Times are timestamptz (microseconds); tokens are kept as
-- SHA-256 hashes only.

-- +goose Up
CREATE TABLE nonces (
    value   text        PRIMARY KEY,
    expires timestamptz NOT NULL
);
CREATE INDEX nonces_expires ON nonces (expires);

CREATE TABLE refresh_tokens (
    hash    bytea       PRIMARY KEY,
    family  text        NOT NULL,
    node_id text        NOT NULL,
    expires timestamptz NOT NULL,
    used    boolean     NOT NULL DEFAULT false
);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires);

CREATE TABLE revoked_families (
    family text        PRIMARY KEY,
    until  timestamptz NOT NULL
);
CREATE INDEX revoked_families_until ON revoked_families (until);

CREATE TABLE nodes (
    node_id         text        PRIMARY KEY,
    certificate_pem text        NOT NULL,
    last_seen       timestamptz NOT NULL
);

-- node_id sorts bytewise (COLLATE "C") so that search results come in the
-- badger store's order whatever the database's locale; name_lower is Go's
-- strings.ToLower of the name, so that a name search agrees with
-- store.Matches byte for byte (PostgreSQL's lower() depends on the locale).
CREATE TABLE profiles (
    node_id    text  COLLATE "C" PRIMARY KEY,
    name_lower text  NOT NULL,
    doc        jsonb NOT NULL
);

-- +goose Down
DROP TABLE profiles;
DROP TABLE nodes;
DROP TABLE revoked_families;
DROP TABLE refresh_tokens;
DROP TABLE nonces;
