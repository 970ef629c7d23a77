package chansync

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

// ID is a channel id or an op id: a SHA-256 value.
type ID [32]byte

// String returns the id in lower-case hex, as on the wire.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID parses 64 lower-case hex characters.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("%w: want 64 hex characters, got %d", ErrBadID, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil || hex.EncodeToString(id[:]) != s {
		return ID{}, fmt.Errorf("%w: want 64 lower-case hex characters", ErrBadID)
	}
	return id, nil
}

// Errors.
var (
	// ErrBadID: an id is not 64 lower-case hex characters.
	ErrBadID = errors.New("chansync: bad id")
	// ErrUnknownChannel: this node holds no log of the channel.
	ErrUnknownChannel = errors.New("chansync: channel not held by this node")
	// ErrNotAllowed: the peer may not sync this channel with this node.
	ErrNotAllowed = errors.New("chansync: peer may not sync this channel")
	// ErrPeerRefused: the peer answered ERROR.
	ErrPeerRefused = errors.New("chansync: peer refused")
	// ErrBadAnswer: the peer answered with another command or request_id.
	ErrBadAnswer = errors.New("chansync: unexpected answer")
	// ErrBadOp: the log refused an op the peer sent (the sync with this peer stops).
	ErrBadOp = errors.New("chansync: op refused")
	// ErrNoProgress: the peer's answers stopped bringing applicable ops
	// (it lacks them, or sends ops whose parents never come).
	ErrNoProgress = errors.New("chansync: no progress")
)

// Log is a node's causal logs of channels, as sync needs them. Every method
// is safe for concurrent use. "Holds" means applied: an op waiting for
// parents in the log's pending buffer is not held.
type Log interface {
	// Known reports whether this node holds a log of the channel (is, or
	// was, a member). Sync never creates a channel.
	Known(channel ID) bool
	// Heads returns the held ops no held op names as a parent.
	Heads(channel ID) []ID
	// Count returns how many ops the log holds.
	Count(channel ID) int
	// Has reports whether the log holds the op.
	Has(channel ID, id ID) bool
	// Meta returns a held op's parents and its position in the log's local
	// order, in which every op comes after its parents (e.g. the order ops
	// were applied).
	Meta(channel ID, id ID) (parents []ID, seq uint64, ok bool)
	// Raw returns a held op's wire form.
	Raw(channel ID, id ID) ([]byte, bool)
	// Add verifies and stores a received op and reports the parents it
	// still lacks (empty when it was applied). Adding a held op again is a
	// no-op. An error means the op is refused (malformed, forged, or of
	// another channel).
	Add(channel ID, raw []byte) (id ID, missing []ID, err error)
}

// Batcher may be implemented by a Log that stores ops: the ops of one
// CHANNEL_OPS are added between a call of Batch and a call of the function
// it returns, so such a log may write them in one transaction.
type Batcher interface {
	Batch() (end func())
}

// batch starts a batch if the log takes them.
func (s *Syncer) batch() (end func()) {
	if b, ok := s.cfg.Log.(Batcher); ok {
		return b.Batch()
	}
	return func() {}
}

// Peer is one remote node, as the service sees it over its session.
type Peer interface {
	// NodeID is the peer's verified node_id.
	NodeID() string
	// Request sends p (whose request_id is set) and returns the answer
	// with the same request_id (an ERROR is returned as a dptp.ErrorReply).
	Request(ctx context.Context, p dptp.Payload) (dptp.Payload, error)
	// Send sends p without waiting for an answer.
	Send(ctx context.Context, p dptp.Payload) error
}

// Defaults of Config.
const (
	DefaultPushBudget = 16 << 20
	DefaultMaxWalk    = 200_000
	DefaultMaxWanted  = 4 * dptp.MaxChannelWant
	DefaultMaxRounds  = 4096
	DefaultMaxStall   = 3
)

// Config configures a Syncer.
type Config struct {
	// Log is this node's channel logs. Required.
	Log Log
	// Allow decides whether peer (a verified node_id) may sync channel with
	// this node: in the service, whether it is a member with read permission
	// in the channel's state. Required: there is no default.
	Allow func(peer string, channel ID) bool
	// Past, if set, is asked about a peer Allow refuses: the ops whose
	// causal past (themselves included) that peer may still be served,
	// and whether an op is one of those. No heads: the peer is refused.
	// Such a peer's CHANNEL_SYNC is answered with those heads and no want,
	// its CHANNEL_WANT with those ops only, and its pushes are refused.
	// The service: a removed member is served the ops up to its removal,
	// so that it learns it (proto/channels.md, "Removed members").
	Past func(peer string, channel ID) (heads []ID, in func(ID) bool)
	// Logger is named "chansync" under the given logger (default: null).
	Logger hclog.Logger
	// PushBudget is the most op bytes one Sync pushes (DefaultPushBudget);
	// the next sync goes on from there.
	PushBudget int
	// MaxWalk is the most ops one ancestry walk visits (DefaultMaxWalk).
	MaxWalk int
	// MaxWanted is the most ids the asker keeps wanting at once (DefaultMaxWanted).
	MaxWanted int
	// MaxRounds is the most CHANNEL_WANT round trips one Fetch makes (DefaultMaxRounds).
	MaxRounds int
	// MaxStall is how many answers in a row may apply nothing before
	// Fetch gives up with ErrNoProgress (DefaultMaxStall).
	MaxStall int
}

// Syncer runs sync sessions and answers sync requests for one node.
type Syncer struct {
	cfg Config
	log hclog.Logger
}

// New returns a Syncer.
func New(cfg Config) (*Syncer, error) {
	if cfg.Log == nil || cfg.Allow == nil {
		return nil, errors.New("chansync: Config.Log and Config.Allow are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.PushBudget, DefaultPushBudget)
	def(&cfg.MaxWalk, DefaultMaxWalk)
	def(&cfg.MaxWanted, DefaultMaxWanted)
	def(&cfg.MaxRounds, DefaultMaxRounds)
	def(&cfg.MaxStall, DefaultMaxStall)
	return &Syncer{cfg: cfg, log: cfg.Logger.Named("chansync")}, nil
}

// Stats counts what one Sync or Fetch did.
type Stats struct {
	// RoundTrips is the number of requests sent (CHANNEL_SYNC and CHANNEL_WANT).
	RoundTrips int
	// PushFrames is the number of CHANNEL_OPS frames pushed.
	PushFrames int
	// OpsSent and OpsReceived count ops pushed and ops received in answers.
	OpsSent, OpsReceived int
	// Incomplete says the push budget ran out before the peer had all it
	// wanted: sync again.
	Incomplete bool
}

func (s *Stats) add(o Stats) {
	s.RoundTrips += o.RoundTrips
	s.PushFrames += o.PushFrames
	s.OpsSent += o.OpsSent
	s.OpsReceived += o.OpsReceived
	s.Incomplete = s.Incomplete || o.Incomplete
}

// Sync runs one sync session of channel with peer: both sides end up
// holding each other's heads (unless the push budget ran out, which Stats
// says).
func (s *Syncer) Sync(ctx context.Context, peer Peer, channel ID) (Stats, error) {
	var st Stats
	if err := s.mayTalk(peer, channel); err != nil {
		return st, err
	}
	for page := 0; ; page++ {
		mine, myPages := s.headsPage(channel, page)
		req := dptp.ChannelSync{RequestID: rand.Text(), ChannelID: channel.String(), Heads: hexIDs(mine),
			Count: int64(s.cfg.Log.Count(channel)), Page: page}
		st.RoundTrips++
		ans, err := peer.Request(ctx, req)
		if err != nil {
			return st, fmt.Errorf("chansync: CHANNEL_SYNC of %s to %s: %w", channel, peer.NodeID(), err)
		}
		resp, ok := ans.(dptp.ChannelSyncResponse)
		if !ok || resp.RequestID != req.RequestID {
			return st, answerErr(peer, req.Command(), req.RequestID, ans)
		}
		theirHeads := parseIDs(resp.Heads)
		if want := onlyFrom(parseIDs(resp.Want), mine); len(want) > 0 {
			pst, err := s.push(ctx, peer, channel, want, slices.Concat(theirHeads, parseIDs(resp.Have)))
			st.add(pst)
			if err != nil {
				return st, err
			}
		}
		var lacking []ID
		for _, h := range theirHeads {
			if !s.cfg.Log.Has(channel, h) {
				lacking = append(lacking, h)
			}
		}
		if len(lacking) > 0 {
			fst, err := s.Fetch(ctx, peer, channel, lacking)
			st.add(fst)
			if err != nil {
				return st, err
			}
		}
		// The next page, while either side has one (a peer that claims
		// pages but shows no heads on them is not followed further).
		if page+1 >= max(myPages, resp.Pages) || page+1 >= dptp.MaxChannelPages ||
			(page+1 >= myPages && len(theirHeads) == 0) {
			return st, nil
		}
	}
}

// mayTalk checks, before this node sends anything of channel to peer, that
// it holds the channel and that Allow lets peer see it (this node never
// starts an exchange with a removed member; Past only bounds its answers).
func (s *Syncer) mayTalk(peer Peer, channel ID) error {
	if !s.cfg.Log.Known(channel) {
		return fmt.Errorf("%w: %s", ErrUnknownChannel, channel)
	}
	if !s.cfg.Allow(peer.NodeID(), channel) {
		return fmt.Errorf("%w: %s with %s", ErrNotAllowed, channel, peer.NodeID())
	}
	return nil
}

// Fetch gets the ops ids (and the ancestors of them this node lacks) from
// peer, asking until it holds them all, the peer has no more, or the peer's
// answers stop bringing applicable ops.
func (s *Syncer) Fetch(ctx context.Context, peer Peer, channel ID, ids []ID) (Stats, error) {
	var st Stats
	lg := s.cfg.Log
	if err := s.mayTalk(peer, channel); err != nil {
		return st, err
	}
	targets := ids[:min(len(ids), s.cfg.MaxWanted)]
	wanted := make(map[ID]struct{}, len(targets))
	stall := 0
	for rounds := 0; ; rounds++ {
		for id := range wanted {
			if lg.Has(channel, id) {
				delete(wanted, id)
			}
		}
		if len(wanted) == 0 {
			// Done when the targets are held; one received but still
			// waiting in the log (or evicted from its pending buffer) is
			// wanted again.
			for _, id := range targets {
				if !lg.Has(channel, id) {
					wanted[id] = struct{}{}
				}
			}
			if len(wanted) == 0 {
				return st, nil
			}
		}
		if rounds >= s.cfg.MaxRounds {
			return st, fmt.Errorf("%w: %d round trips to %s and %d ops of %s still wanted", ErrNoProgress, rounds, peer.NodeID(), len(wanted), channel)
		}
		ask := sortedIDs(wanted, dptp.MaxChannelWant)
		heads, _ := s.headsPage(channel, 0)
		req := dptp.ChannelWant{RequestID: rand.Text(), ChannelID: channel.String(), IDs: hexIDs(ask), Heads: hexIDs(heads),
			Have: hexIDs(sortIDs(s.locator(channel, heads, dptp.MaxChannelHave)))}
		st.RoundTrips++
		ans, err := peer.Request(ctx, req)
		if err != nil {
			return st, fmt.Errorf("chansync: CHANNEL_WANT of %s to %s: %w", channel, peer.NodeID(), err)
		}
		ops, ok := ans.(dptp.ChannelOps)
		if !ok || ops.RequestID != req.RequestID || ops.ChannelID != req.ChannelID {
			return st, answerErr(peer, req.Command(), req.RequestID, ans)
		}
		before := lg.Count(channel)
		// Progress is an op applied, or an op received that was wanted by
		// id: ids are hashes, so a peer cannot fake the latter, and it lets
		// a chain be fetched backwards when the peer's walk was cut short.
		gotWanted := false
		st.OpsReceived += len(ops.Ops)
		// A parent that came earlier in this answer but waits in the log
		// (its own parents are older still) is not wanted again.
		inAnswer := make(map[ID]struct{}, len(ops.Ops))
		end := s.batch()
		for i, raw := range ops.Ops {
			id, missing, err := lg.Add(channel, raw)
			if err != nil {
				end()
				return st, fmt.Errorf("%w: op %d of %s's answer for %s: %w", ErrBadOp, i, peer.NodeID(), channel, err)
			}
			inAnswer[id] = struct{}{}
			if _, ok := wanted[id]; ok {
				gotWanted = true
				delete(wanted, id) // held, or pending in the log: wanting it again is useless
			}
			for _, m := range missing {
				if _, ok := inAnswer[m]; !ok && len(wanted) < s.cfg.MaxWanted {
					wanted[m] = struct{}{}
				}
			}
		}
		end()
		if gotWanted || lg.Count(channel) > before {
			stall = 0
			continue
		}
		stall++
		if !ops.More && len(ops.Ops) == 0 {
			return st, fmt.Errorf("%w: %s has none of the %d ops of %s still wanted", ErrNoProgress, peer.NodeID(), len(wanted), channel)
		}
		if stall >= s.cfg.MaxStall {
			return st, fmt.Errorf("%w: %d answers in a row from %s applied no op of %s", ErrNoProgress, stall, peer.NodeID(), channel)
		}
	}
}

// push sends peer the ops want and their ancestors its heads do not cover,
// oldest first, in frames, within the push budget.
func (s *Syncer) push(ctx context.Context, peer Peer, channel ID, want, theirHeads []ID) (Stats, error) {
	var st Stats
	order, truncated := s.walk(channel, want, theirHeads)
	budget := s.cfg.PushBudget
	for len(order) > 0 {
		frame, n, size := s.frame(channel, order)
		if size > budget {
			st.Incomplete = true
			break
		}
		budget -= size
		order = order[n:]
		if len(frame) == 0 {
			continue
		}
		st.PushFrames++
		st.OpsSent += len(frame)
		if err := peer.Send(ctx, dptp.ChannelOps{ChannelID: channel.String(), Ops: frame}); err != nil {
			return st, fmt.Errorf("chansync: pushing ops of %s to %s: %w", channel, peer.NodeID(), err)
		}
	}
	st.Incomplete = st.Incomplete || truncated
	return st, nil
}

// frame takes ops from the front of order while they fit one CHANNEL_OPS:
// it returns their bytes, how many ids it consumed and their total size.
func (s *Syncer) frame(channel ID, order []ID) (ops [][]byte, n, size int) {
	for n < len(order) && len(ops) < dptp.MaxChannelOps {
		raw, ok := s.cfg.Log.Raw(channel, order[n])
		if !ok {
			n++ // gone since the walk: skip it
			continue
		}
		if len(raw) > dptp.MaxChannelOpLen {
			n++ // cannot travel; the log should never hold one
			s.log.Warn("op too large to send skipped", "channel", channel, "op", order[n-1], "bytes", len(raw))
			continue
		}
		if size+len(raw) > dptp.MaxChannelOpsBytes {
			break
		}
		ops = append(ops, raw)
		size += len(raw)
		n++
	}
	return ops, n, size
}

// Handle answers a channel payload from the peer with the verified node_id
// from. It returns the reply to send (nil for none) and, for a push, the
// parents its ops still lack, which the caller fetches from that peer with
// Fetch (outside the goroutine reading frames). Payloads of other commands,
// and answers (which the transport routes to Request), give nothing.
func (s *Syncer) Handle(from string, p dptp.Payload) (reply dptp.Payload, missing []ID) {
	switch p := p.(type) {
	case dptp.ChannelSync:
		return s.handleSync(from, p), nil
	case dptp.ChannelWant:
		return s.handleWant(from, p), nil
	case dptp.ChannelOps:
		if p.RequestID != "" {
			s.log.Debug("unsolicited CHANNEL_OPS answer dropped", "peer", from, "request_id", p.RequestID)
			return nil, nil
		}
		return s.handlePush(from, p)
	}
	return nil, nil
}

// bound is what a peer Allow refuses may still be served (Config.Past).
type bound struct {
	heads []ID
	in    func(ID) bool
}

// access checks that channel is held and from may sync it, wholly (nil
// bound) or up to a bound when bounded is set; it returns the ERROR to
// answer otherwise.
func (s *Syncer) access(from, command, requestID, channelHex string, bounded bool) (ID, *bound, *dptp.ErrorReply) {
	channel, err := ParseID(channelHex)
	if err == nil && !s.cfg.Log.Known(channel) {
		err = fmt.Errorf("%w: %s", ErrUnknownChannel, channel)
	}
	if err != nil {
		return channel, nil, &dptp.ErrorReply{RequestID: requestID, RefusedCommand: command, Code: dptp.CodeNotFound,
			Message: dptp.TruncateReason(err.Error())}
	}
	if s.cfg.Allow(from, channel) {
		return channel, nil, nil
	}
	if bounded && s.cfg.Past != nil {
		if heads, in := s.cfg.Past(from, channel); len(heads) > 0 && in != nil {
			s.log.Debug("serving a bounded past", "peer", from, "channel", channel, "command", command, "heads", len(heads))
			return channel, &bound{heads: sortIDs(slices.Clone(heads[:min(len(heads), dptp.MaxChannelHeads)])), in: in}, nil
		}
	}
	s.log.Debug("sync refused", "peer", from, "channel", channel, "command", command)
	return channel, nil, &dptp.ErrorReply{RequestID: requestID, RefusedCommand: command, Code: dptp.CodePermissionDenied,
		Message: fmt.Sprintf("%v: %s", ErrNotAllowed, channel)}
}

func (s *Syncer) handleSync(from string, p dptp.ChannelSync) dptp.Payload {
	channel, b, refuse := s.access(from, p.Command(), p.RequestID, p.ChannelID, true)
	if refuse != nil {
		return *refuse
	}
	if b != nil {
		// Only the bound's heads, and nothing wanted from this peer.
		var heads []ID
		if p.Page == 0 {
			heads = b.heads
		}
		return dptp.ChannelSyncResponse{RequestID: p.RequestID, Heads: hexIDs(heads), Page: p.Page, Pages: 1}
	}
	var want []string
	for _, h := range p.Heads {
		id, err := ParseID(h)
		if err == nil && !s.cfg.Log.Has(channel, id) {
			want = append(want, h) // p.Heads is ascending, so want is too
		}
	}
	mine, pages := s.headsPage(channel, p.Page)
	var have []ID
	if len(want) > 0 {
		have = sortIDs(s.locator(channel, mine, dptp.MaxChannelHave))
	}
	return dptp.ChannelSyncResponse{RequestID: p.RequestID, Heads: hexIDs(mine), Count: int64(s.cfg.Log.Count(channel)),
		Want: want, Have: hexIDs(have), Page: p.Page, Pages: pages}
}

func (s *Syncer) handleWant(from string, p dptp.ChannelWant) dptp.Payload {
	channel, b, refuse := s.access(from, p.Command(), p.RequestID, p.ChannelID, true)
	if refuse != nil {
		return *refuse
	}
	ids := parseIDs(p.IDs)
	if b != nil {
		// The ancestors of an op in the bound are in it too: filtering
		// where the walk starts bounds all it reaches.
		ids = slices.DeleteFunc(ids, func(id ID) bool { return !b.in(id) })
	}
	order, truncated := s.walk(channel, ids, slices.Concat(parseIDs(p.Heads), parseIDs(p.Have)))
	ops, n, _ := s.frame(channel, order)
	return dptp.ChannelOps{RequestID: p.RequestID, ChannelID: p.ChannelID, Ops: ops, More: n < len(order) || truncated}
}

func (s *Syncer) handlePush(from string, p dptp.ChannelOps) (dptp.Payload, []ID) {
	channel, _, refuse := s.access(from, p.Command(), "", p.ChannelID, false)
	if refuse != nil {
		return *refuse, nil
	}
	var missing []ID
	seen := make(map[ID]struct{})
	defer s.batch()()
	for i, raw := range p.Ops {
		_, m, err := s.cfg.Log.Add(channel, raw)
		if err != nil {
			s.log.Debug("pushed op refused", "peer", from, "channel", channel, "index", i, "error", err)
			return dptp.ErrorReply{RefusedCommand: p.Command(), Code: dptp.CodeBadRequest,
				Message: dptp.TruncateReason(fmt.Sprintf("ops[%d]: %v", i, err))}, missing
		}
		for _, id := range m {
			if _, dup := seen[id]; !dup && len(missing) < dptp.MaxChannelWant {
				seen[id] = struct{}{}
				missing = append(missing, id)
			}
		}
	}
	// Parents that arrived later in the same frame are no longer missing.
	missing = slices.DeleteFunc(missing, func(id ID) bool { return s.cfg.Log.Has(channel, id) })
	return nil, missing
}

// headsPage returns page page of the channel's heads in ascending order and
// how many pages there are (at least 1).
func (s *Syncer) headsPage(channel ID, page int) ([]ID, int) {
	heads := sortIDs(slices.Clone(s.cfg.Log.Heads(channel)))
	pages := max(1, (len(heads)+dptp.MaxChannelHeads-1)/dptp.MaxChannelHeads)
	pages = min(pages, dptp.MaxChannelPages)
	lo := page * dptp.MaxChannelHeads
	if lo >= len(heads) {
		return nil, pages
	}
	return heads[lo:min(len(heads), lo+dptp.MaxChannelHeads)], pages
}

// answerErr describes an answer that is not the one expected.
func answerErr(peer Peer, command, requestID string, ans dptp.Payload) error {
	if e, ok := ans.(dptp.ErrorReply); ok && (e.RequestID == "" || e.RequestID == requestID) {
		return fmt.Errorf("%w: %s answered %s with ERROR %s: %s", ErrPeerRefused, peer.NodeID(), command, e.Code, e.Message)
	}
	got := "nothing"
	if ans != nil {
		got = ans.Command() + " (request_id " + dptp.RequestIDOf(ans) + ")"
	}
	return fmt.Errorf("%w: %s answered %s %s with %s", ErrBadAnswer, peer.NodeID(), command, requestID, got)
}

// onlyFrom keeps the ids of want that are in set (a peer may only want the
// heads it was shown).
func onlyFrom(want, set []ID) []ID {
	return slices.DeleteFunc(want, func(id ID) bool { return !slices.Contains(set, id) })
}

func hexIDs(ids []ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// parseIDs parses ids dptp has already validated (64 lower-case hex).
func parseIDs(ss []string) []ID {
	out := make([]ID, 0, len(ss))
	for _, s := range ss {
		if id, err := ParseID(s); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// sortedIDs returns up to n ids of set in ascending order.
func sortedIDs(set map[ID]struct{}, n int) []ID {
	out := make([]ID, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	return sortIDs(out)[:min(n, len(out))]
}

// sortIDs sorts ids in ascending order (as the wire wants them) and returns them.
func sortIDs(ids []ID) []ID {
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}
