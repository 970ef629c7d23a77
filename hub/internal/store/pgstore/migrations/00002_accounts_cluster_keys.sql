-- Accounts linked through OAuth/OIDC, the replicas of a hub sharing this
-- database (package cluster) and the keys they share.

-- +goose Up
-- Single-use records of the account-linking flow, under the SHA-256 of
-- their bearer value.
CREATE TABLE oauth_states (
    kind         text        NOT NULL,
    hash         bytea       NOT NULL,
    node_id      text        NOT NULL,
    provider     text        NOT NULL,
    verifier     text        NOT NULL,
    nonce_hash   bytea,
    browser_hash bytea,
    expires      timestamptz NOT NULL,
    PRIMARY KEY (kind, hash)
);
CREATE INDEX oauth_states_expires ON oauth_states (expires);

CREATE TABLE accounts (
    node_id   text COLLATE "C" NOT NULL,
    provider  text COLLATE "C" NOT NULL,
    subject   text COLLATE "C" NOT NULL,
    email     text        NOT NULL,
    name      text        NOT NULL,
    linked_at timestamptz NOT NULL,
    PRIMARY KEY (node_id, provider, subject)
);

-- One row per running replica: its heartbeat and figures.
CREATE TABLE hub_replicas (
    id           text        PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    connections  integer     NOT NULL DEFAULT 0
);
-- Which replica holds each node's one signaling socket.
CREATE TABLE hub_presence (
    node_id    text        PRIMARY KEY,
    replica_id text        NOT NULL REFERENCES hub_replicas (id) ON DELETE CASCADE,
    conn_id    text        NOT NULL,
    since      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hub_presence_replica ON hub_presence (replica_id);
-- Signals for the nodes of a replica, until it takes them: a replica that
-- did not hear the notification (its listener was reconnecting) finds
-- them when it listens again.
CREATE TABLE hub_signal_queue (
    id         bigserial   PRIMARY KEY,
    replica_id text        NOT NULL REFERENCES hub_replicas (id) ON DELETE CASCADE,
    target     text        NOT NULL,
    payload    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hub_signal_queue_replica ON hub_signal_queue (replica_id, id);
-- The keys every replica shares: the token signing key and the TURN
-- secret. The newest active key of a purpose signs; retired ones are still
-- accepted for a while, then deleted.
CREATE TABLE hub_keys (
    purpose    text        NOT NULL,
    kid        text        NOT NULL,
    secret     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at timestamptz,
    PRIMARY KEY (purpose, kid)
);

-- +goose Down
DROP TABLE hub_keys;
DROP TABLE hub_signal_queue;
DROP TABLE hub_presence;
DROP TABLE hub_replicas;
DROP TABLE accounts;
DROP TABLE oauth_states;
