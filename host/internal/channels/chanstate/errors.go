package chanstate

import "errors"

// Errors returned by Log.Add for ops the log does not store.
var (
	// ErrWrongChannel is returned for an op of another channel.
	ErrWrongChannel = errors.New("operation belongs to another channel")
	// ErrEquivocation is returned for an op whose id is known with other bytes.
	ErrEquivocation = errors.New("operation id known with other bytes (equivocation)")
	// ErrUnknownAuthor is returned when no create or add in the op's causal
	// past gives its author's key: it cannot be verified.
	ErrUnknownAuthor = errors.New("author is not known in the operation's causal past")
	// ErrPendingFull is returned for an op with missing parents that the
	// shared pending pool has no room for (this log had nothing to evict).
	ErrPendingFull = errors.New("pending buffer full")
	// ErrVerify is returned when the op's signature does not verify.
	ErrVerify = errors.New("operation does not verify")
)

// Reasons an op is refused by resolution (Log.Status, State.Refused).
var (
	ErrClosed       = errors.New("channel is closed in the operation's causal past")
	ErrNotMember    = errors.New("author is not a member in the operation's causal past")
	ErrNoPermission = errors.New("author lacks the permission")
	// ErrBeyondGrant is refused: granting permissions the author does not hold.
	ErrBeyondGrant = errors.New("grants permissions the author does not hold")
	// ErrReAdd is refused: adding a node_id that is or was a member, or
	// that an earlier concurrent add admitted.
	ErrReAdd = errors.New("node_id is or was already a member")
	// ErrCreator is refused: changing or removing the creator.
	ErrCreator = errors.New("nobody changes the creator's permissions")
	// ErrTarget is refused: the target is not a member, or not the
	// author's own valid post.
	ErrTarget = errors.New("bad target")
	// ErrKeyList is refused: a new epoch not wrapped to exactly the members
	// remaining in the author's view.
	ErrKeyList = errors.New("new key epoch is not wrapped to exactly the remaining members")
	// ErrEpoch is refused: the key epoch named is not a valid epoch in the
	// operation's causal past.
	ErrEpoch = errors.New("key epoch is not valid in the operation's causal past")
	// ErrMemberKey is refused: the added member's certificate or envelope
	// binding does not verify.
	ErrMemberKey = errors.New("member certificate or envelope binding does not verify")
	// ErrRestricted is refused: a concurrent valid restriction (a removal,
	// a grant lowering the author, a close) forbids the op.
	ErrRestricted = errors.New("refused by a concurrent restriction")
	// ErrAlreadyClosed is the reason of a close that lost to a concurrent
	// close: a no-op, the channel is closed once.
	ErrAlreadyClosed = errors.New("channel closed by a concurrent close")
)
