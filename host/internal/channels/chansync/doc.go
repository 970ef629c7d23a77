// Package chansync is the anti-entropy sync of multi-user channels: how two
// members find out which operations of a channel's causal log each lacks and
// exchange them, in bounded frames and bounded memory, after any partition.
// The wire commands are dptp's CHANNEL_SYNC, CHANNEL_SYNC_RESPONSE,
// CHANNEL_WANT and CHANNEL_OPS; the walk-through is in proto/dptp.md §11.
//
// # What it needs
//
// The package knows nothing of the operation format, signatures, the channel
// state or the network. It works over two small interfaces:
//
//   - [Log], a node's causal logs of channels: heads, has, parents and a
//     local order, raw bytes, and Add, which verifies and stores a received
//     op and says which parents it still lacks (ops with missing parents
//     wait in the log's own bounded pending buffer).
//   - [Peer], one remote node: a one-way Send and a Request that returns the
//     answer. The service implements it over network.Request / SendTo; tests
//     use an in-memory pipe that encodes every payload to a real frame.
//
// # The algorithm
//
// [Syncer.Sync] (the asker A, with responder B):
//
//  1. A sends CHANNEL_SYNC with its heads (sorted, in pages of
//     dptp.MaxChannelHeads) and its op count.
//  2. B answers CHANNEL_SYNC_RESPONSE: its own heads, and which of A's heads
//     it lacks (want).
//  3. A pushes what B wants: the wanted ops and every ancestor of them B's
//     heads do not cover, oldest first, in CHANNEL_OPS frames of at most
//     dptp.MaxChannelOpsBytes, up to [Config.PushBudget] bytes per sync.
//     Oldest first means B can apply each op on arrival: nothing it
//     receives waits for a parent.
//  4. A pulls what it lacks ([Syncer.Fetch]): CHANNEL_WANT with the ids and
//     A's current heads; B answers one CHANNEL_OPS, oldest first, with
//     "more" when the answer did not fit. A hands every op to Log.Add; the
//     parents Add reports missing are wanted next. A asks again until it
//     holds every wanted op, the peer has nothing more, or
//     [Config.MaxStall] answers in a row brought nothing useful: no op
//     applied and no op that was wanted by id (ids are hashes, so a peer
//     cannot fake those; counting them lets a chain be fetched backwards
//     when the answerer's walk was cut short).
//
// The sync ends when each side holds the other's heads. Which ancestors the
// asker lacks is found by walking back from the wanted ops and the asker's
// heads together, newest first in the log's local order (a max-heap on
// [Log.Meta]'s seq): an op reached from the asker's heads is covered, and so
// are its ancestors; the walk stops as soon as nothing uncovered is left, or
// after [Config.MaxWalk] ops. It therefore costs the ops between the two
// frontiers, not the whole log.
//
// # Against a hostile peer
//
// Every payload is validated by dptp before it reaches [Syncer.Handle]
// (lists of at most 1024 ids, ops of at most 70 KiB, frames under 256 KiB),
// so a want of a million ids never gets here. A channel this node does not
// hold is answered ERROR not_found and nothing is created; a peer
// [Config.Allow] refuses gets ERROR permission_denied (and Sync and Fetch
// never start toward such a peer), unless [Config.Past] bounds what it may
// still be served: then its CHANNEL_SYNC is answered with the bound's heads
// and its CHANNEL_WANT with ops up to the bound only (a removed member
// learns its removal and nothing after); an op the log refuses
// gets ERROR bad_request and the rest of the frame is dropped. The asker
// keeps at most [Config.MaxWanted] wanted ids, stops after MaxStall answers
// that applied nothing (ops whose parents never come) and after
// [Config.MaxRounds] round trips in all. Nothing is held between requests:
// the responder's walk is per request and bounded by MaxWalk.
//
// Pushed ops (fan-out, or step 3 of someone else's sync) may still miss
// parents; [Syncer.Handle] returns those ids and the service calls
// [Syncer.Fetch] toward the sender, outside its frame-reading goroutine.
package chansync
