// Package chanstate is the causal log of one channel and the deterministic
// state machine over it: a set of verified operations → the channel state
// (members, permissions, seniority, key epochs, closed, accepted ops in
// display order, posts with edits and redactions applied) and its hash.
//
// The state is a pure function of the set of operations the log holds,
// never of their arrival order: every member computes it identically. No
// clock is read, no map is iterated where its order could leak into a
// result. The rules (causal authorization, restrictions winning over
// concurrent operations, seniority breaking cycles, first add wins, key
// epochs and their exposure, display order) are written down in
// proto/channels.md with the hard cases; resolve.go implements them.
//
// A Log stores an op only once its parents are stored (an op whose parents
// are missing waits in a bounded pending buffer and is applied, with
// everything it unblocks, when they arrive) and its signature verifies with
// the author's key taken from the create or add in its causal past. Stored
// ops are either accepted or refused, with a reason per refused op.
//
// Control ops (create, add, remove, grant, rekey, close) are few and are
// re-resolved together when one arrives; posts, edits and redacts are
// checked one by one against a cached summary of their control past, so
// applying a post does not recompute the world.
//
// A Log is not safe for concurrent use; the channel service serializes.
package chanstate
