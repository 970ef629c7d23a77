// Package cluster joins the dpc-hub replicas that share one PostgreSQL
// database, so that they behave as one hub: a node logged in on one
// replica signals a node on another, presence is the cluster's, a newer
// socket of a node on one replica replaces its older one on another, and a
// logout on one replica closes that login's socket and TURN relays on
// every replica.
//
// The database is the only meeting point (no replica talks to another
// directly, so replicas behind a load balancer need no address of each
// other):
//   - hub_replicas: one row per running replica, its heartbeat (every
//     HeartbeatInterval) and its figures; a replica whose heartbeat is
//     older than ReplicaTTL is dead, its rows are ignored and then removed;
//   - hub_presence: which replica holds each node's one signaling socket;
//   - hub_signal_queue and LISTEN/NOTIFY: a signal for a node of another
//     replica is queued for that replica and a notification on its channel
//     wakes it; it takes what is queued in order. A replica whose listener
//     was reconnecting (the database restarted) takes what was queued
//     meanwhile as soon as it listens again. The replica's channel also
//     carries "close your older socket" notices, and one channel for every
//     replica carries revocations.
//
// Order: a sender's signals are relayed one after the other from its
// socket's reader, each committed before the next, and taken in the order
// of the queue, so a WebRTC offer never overtakes the candidates that
// follow it.
//
// Loss of the database: signals between nodes of one replica go on; relays
// to other replicas fail (the sender is told, as for an offline target).
// When the database is back, the listener reconnects by itself and the
// replica writes its presence again, so that what changed meanwhile holds.
package cluster
