-- The mailbox: sealed envelopes waiting for their recipient. The hub
-- cannot read them, and there is no sender column on purpose: the hub
-- never records who sent an envelope.

-- +goose Up
CREATE TABLE mailbox (
    recipient text        COLLATE "C" NOT NULL,
    id        text        COLLATE "C" NOT NULL,
    envelope  bytea       NOT NULL,
    size      integer     NOT NULL,
    received  timestamptz NOT NULL,
    expires   timestamptz NOT NULL,
    PRIMARY KEY (recipient, id)
);
-- Fetches read a recipient's envelopes oldest first.
CREATE INDEX mailbox_order ON mailbox (recipient, received, id);
CREATE INDEX mailbox_expires ON mailbox (expires);

-- +goose Down
DROP TABLE mailbox;
