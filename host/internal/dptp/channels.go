package dptp

// Payloads of multi-user channels: the fan-out of new operations and the
// anti-entropy sync over a channel's causal log (proto/dptp.md §11). An
// operation travels as opaque bytes here; its format and verification are
// the channel log's business.

import (
	"encoding/json"
	"strconv"
)

// Commands of multi-user channels.
const (
	// CmdChannelOps carries operations of one channel, oldest first: a push
	// of new operations (no answer) or the answer to CHANNEL_WANT.
	// Payload: ChannelOps.
	CmdChannelOps = "CHANNEL_OPS"
	// CmdChannelSync says which heads the sender's log of a channel has.
	// Payload: ChannelSync; answered by CHANNEL_SYNC_RESPONSE or ERROR.
	CmdChannelSync = "CHANNEL_SYNC"
	// CmdChannelSyncResponse answers CHANNEL_SYNC with the answerer's heads
	// and which of the asker's heads it lacks. Payload: ChannelSyncResponse.
	CmdChannelSyncResponse = "CHANNEL_SYNC_RESPONSE"
	// CmdChannelWant asks for operations by id (and their ancestors the
	// asker lacks). Payload: ChannelWant; answered by CHANNEL_OPS or ERROR.
	CmdChannelWant = "CHANNEL_WANT"
)

// Limits of channel payloads. They keep every channel frame inside the
// 256 KiB a node reads from a peer that is not a contact, so that members who
// are not each other's contacts can still sync.
const (
	// ChannelIDLen is the length of a channel or operation id in hex: a
	// SHA-256 value, 64 lower-case hex characters.
	ChannelIDLen = 64
	// MaxChannelOpLen is the largest operation (its wire form): a 64 KiB body,
	// a signature of at most 1 KiB and a header of at most ~1 KiB.
	MaxChannelOpLen = 70 << 10
	// MaxChannelOpsBytes is the most operation bytes (before base64) one
	// CHANNEL_OPS may carry; with base64 and JSON it stays under 256 KiB.
	MaxChannelOpsBytes = 160 << 10
	// MaxChannelOps is the most operations one CHANNEL_OPS may carry.
	MaxChannelOps = 1024
	// MaxChannelHeads is the most head ids one CHANNEL_SYNC, its response or
	// a CHANNEL_WANT may list; a log with more heads sends them in pages.
	MaxChannelHeads = 1024
	// MaxChannelWant is the most ids one CHANNEL_WANT or one
	// CHANNEL_SYNC_RESPONSE.want may list.
	MaxChannelWant = 1024
	// MaxChannelHave is the most ids of a "have" sample (CHANNEL_WANT and
	// CHANNEL_SYNC_RESPONSE).
	MaxChannelHave = 1024
	// MaxChannelPages is the most pages of heads a CHANNEL_SYNC may walk
	// (1024 × 1024 heads).
	MaxChannelPages = 1024
)

// ChannelOps is the CHANNEL_OPS payload: operations of one channel, oldest
// first (every op after those of its parents that the frame carries), so the
// receiver can apply them in order without buffering.
type ChannelOps struct {
	// RequestID is the CHANNEL_WANT's request_id when this answers one; empty
	// for a push of new operations.
	RequestID string `json:"request_id,omitempty"`
	// ChannelID is the channel, 64 lower-case hex.
	ChannelID string `json:"channel_id"`
	// Ops are operations in their wire form (standard base64 in JSON), each
	// 1..MaxChannelOpLen bytes, at most MaxChannelOps and MaxChannelOpsBytes
	// in all. A push carries at least one; an answer may carry none (the
	// answerer has none of the wanted operations).
	Ops [][]byte `json:"ops"`
	// More says, in an answer, that the answerer holds more of what was
	// wanted than fitted: ask again with the updated heads.
	More bool `json:"more,omitempty"`
}

// Command returns CmdChannelOps.
func (ChannelOps) Command() string { return CmdChannelOps }

// Validate checks the CHANNEL_OPS fields.
func (p ChannelOps) Validate() error {
	const c = CmdChannelOps
	if err := checkOptionalID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if err := checkSHA256(c, "channel_id", p.ChannelID); err != nil {
		return err
	}
	if p.RequestID == "" && len(p.Ops) == 0 {
		return fieldErr(c, "ops", "required in a push (a CHANNEL_OPS without request_id)")
	}
	if p.RequestID == "" && p.More {
		return fieldErr(c, "more", "only an answer (with request_id) may say more")
	}
	if len(p.Ops) > MaxChannelOps {
		return fieldErr(c, "ops", "%d operations, at most %d allowed", len(p.Ops), MaxChannelOps)
	}
	total := 0
	for i, op := range p.Ops {
		if len(op) == 0 || len(op) > MaxChannelOpLen {
			return fieldErr(c, "ops["+strconv.Itoa(i)+"]", "want 1..%d bytes, got %d", MaxChannelOpLen, len(op))
		}
		total += len(op)
	}
	if total > MaxChannelOpsBytes {
		return fieldErr(c, "ops", "%d bytes of operations, at most %d allowed", total, MaxChannelOpsBytes)
	}
	return nil
}

// MarshalJSON writes an empty list rather than null for no operations.
func (p ChannelOps) MarshalJSON() ([]byte, error) {
	type plain ChannelOps
	if p.Ops == nil {
		p.Ops = [][]byte{}
	}
	return json.Marshal(plain(p))
}

// ChannelSync is the CHANNEL_SYNC payload: "here is what I have".
type ChannelSync struct {
	RequestID string `json:"request_id"`
	// ChannelID is the channel, 64 lower-case hex.
	ChannelID string `json:"channel_id"`
	// Heads is page Page of the sender's heads (operations no other
	// operation of its log names as a parent), op ids in strictly ascending
	// order, at most MaxChannelHeads. Empty when the sender holds no
	// operation of the channel yet.
	Heads []string `json:"heads"`
	// Count is how many operations the sender's log holds (informational).
	Count int64 `json:"count"`
	// Page is which page of MaxChannelHeads heads this is, from 0.
	Page int `json:"page,omitempty"`
}

// Command returns CmdChannelSync.
func (ChannelSync) Command() string { return CmdChannelSync }

// Validate checks the CHANNEL_SYNC fields.
func (p ChannelSync) Validate() error {
	const c = CmdChannelSync
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if err := checkSHA256(c, "channel_id", p.ChannelID); err != nil {
		return err
	}
	if err := checkOpIDs(c, "heads", p.Heads, MaxChannelHeads); err != nil {
		return err
	}
	if p.Count < 0 {
		return fieldErr(c, "count", "must not be negative, got %d", p.Count)
	}
	return checkPage(c, "page", p.Page)
}

// MarshalJSON writes an empty list rather than null for no heads.
func (p ChannelSync) MarshalJSON() ([]byte, error) {
	type plain ChannelSync
	if p.Heads == nil {
		p.Heads = []string{}
	}
	return json.Marshal(plain(p))
}

// ChannelSyncResponse is the CHANNEL_SYNC_RESPONSE payload: the answerer's
// heads (so the asker can want what it lacks) and which of the asker's heads
// the answerer lacks (so the asker can send them).
type ChannelSyncResponse struct {
	RequestID string `json:"request_id"`
	// Heads is page Page of the answerer's heads, strictly ascending.
	Heads []string `json:"heads"`
	// Count is how many operations the answerer's log holds (informational).
	Count int64 `json:"count"`
	// Want lists the asker's heads (of this page) the answerer lacks,
	// strictly ascending.
	Want []string `json:"want"`
	// Have is, when Want is not empty, a sample of older ops the answerer
	// holds (along its heads' ancestry, denser near the heads), strictly
	// ascending: with Heads, what the asker need not send.
	Have []string `json:"have,omitempty"`
	// Page echoes CHANNEL_SYNC.page.
	Page int `json:"page,omitempty"`
	// Pages is how many pages of heads the answerer has (at least 1).
	Pages int `json:"pages"`
}

// Command returns CmdChannelSyncResponse.
func (ChannelSyncResponse) Command() string { return CmdChannelSyncResponse }

// Validate checks the CHANNEL_SYNC_RESPONSE fields.
func (p ChannelSyncResponse) Validate() error {
	const c = CmdChannelSyncResponse
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if err := checkOpIDs(c, "heads", p.Heads, MaxChannelHeads); err != nil {
		return err
	}
	if p.Count < 0 {
		return fieldErr(c, "count", "must not be negative, got %d", p.Count)
	}
	if err := checkOpIDs(c, "want", p.Want, MaxChannelWant); err != nil {
		return err
	}
	if err := checkOpIDs(c, "have", p.Have, MaxChannelHave); err != nil {
		return err
	}
	if err := checkPage(c, "page", p.Page); err != nil {
		return err
	}
	if p.Pages < 1 || p.Pages > MaxChannelPages {
		return fieldErr(c, "pages", "want 1..%d, got %d", MaxChannelPages, p.Pages)
	}
	return nil
}

// MarshalJSON writes empty lists rather than null.
func (p ChannelSyncResponse) MarshalJSON() ([]byte, error) {
	type plain ChannelSyncResponse
	if p.Heads == nil {
		p.Heads = []string{}
	}
	if p.Want == nil {
		p.Want = []string{}
	}
	return json.Marshal(plain(p))
}

// ChannelWant is the CHANNEL_WANT payload: send me these operations, and
// those of their ancestors my heads do not already cover.
type ChannelWant struct {
	RequestID string `json:"request_id"`
	// ChannelID is the channel, 64 lower-case hex.
	ChannelID string `json:"channel_id"`
	// IDs are the wanted op ids, 1..MaxChannelWant, strictly ascending.
	IDs []string `json:"ids"`
	// Heads are (up to MaxChannelHeads of) the asker's current heads,
	// strictly ascending: the answerer skips everything they cover.
	Heads []string `json:"heads"`
	// Have is a sample of older ops the asker holds (along its heads'
	// ancestry, denser near the heads), strictly ascending: after a
	// partition the answerer knows none of the asker's heads, and without it
	// would send everything back to the channel's first op.
	Have []string `json:"have,omitempty"`
}

// Command returns CmdChannelWant.
func (ChannelWant) Command() string { return CmdChannelWant }

// Validate checks the CHANNEL_WANT fields.
func (p ChannelWant) Validate() error {
	const c = CmdChannelWant
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if err := checkSHA256(c, "channel_id", p.ChannelID); err != nil {
		return err
	}
	if len(p.IDs) == 0 {
		return fieldErr(c, "ids", "required")
	}
	if err := checkOpIDs(c, "ids", p.IDs, MaxChannelWant); err != nil {
		return err
	}
	if err := checkOpIDs(c, "heads", p.Heads, MaxChannelHeads); err != nil {
		return err
	}
	return checkOpIDs(c, "have", p.Have, MaxChannelHave)
}

// MarshalJSON writes an empty list rather than null for no heads.
func (p ChannelWant) MarshalJSON() ([]byte, error) {
	type plain ChannelWant
	if p.Heads == nil {
		p.Heads = []string{}
	}
	return json.Marshal(plain(p))
}

// Interface guards.
var (
	_ Payload = ChannelOps{}
	_ Payload = ChannelSync{}
	_ Payload = ChannelSyncResponse{}
	_ Payload = ChannelWant{}
)

// checkOpIDs checks a list of at most max op ids: 64 lower-case hex each, in
// strictly ascending order (so no duplicates, and one encoding per set).
func checkOpIDs(c, field string, ids []string, max int) error {
	if len(ids) > max {
		return fieldErr(c, field, "%d ids, at most %d allowed", len(ids), max)
	}
	for i, id := range ids {
		if err := checkSHA256(c, field+"["+strconv.Itoa(i)+"]", id); err != nil {
			return err
		}
		if i > 0 && ids[i-1] >= id {
			return fieldErr(c, field, "ids must be strictly ascending: entry %d is not after entry %d", i, i-1)
		}
	}
	return nil
}

func checkPage(c, field string, page int) error {
	if page < 0 || page >= MaxChannelPages {
		return fieldErr(c, field, "want 0..%d, got %d", MaxChannelPages-1, page)
	}
	return nil
}
