package mailbox

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/hubsvc"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
)

// Hub is what the service needs of the node's hub login (hubsvc.Service).
type Hub interface {
	// CheckLoggedIn returns nil when the node is logged in to its hub now,
	// else why not (hubsvc.ErrNotLoggedIn, hubsvc.ErrNoHub...).
	CheckLoggedIn() error
	MailboxPut(ctx context.Context, req sdk.MailboxPutRequest) (sdk.MailboxPutResult, error)
	MailboxFetch(ctx context.Context, req sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error)
	MailboxAck(ctx context.Context, req sdk.MailboxAckRequest) error
}

// Options configure a Service.
type Options struct {
	Net      *network.Network
	Store    *store.Store
	Identity *identity.Identity
	Peers    *peers.Store
	// Hub is the node's hub login; nil when no hub is configured.
	Hub    Hub
	Logger hclog.Logger
	// FetchEvery is how often the mailbox is fetched while logged in, on
	// top of the hub's hints (default 60 s).
	FetchEvery time.Duration
}

// Service fetches, opens and dispatches the envelopes waiting for this node
// at its hub, and sends envelopes to peers without a session.
type Service struct {
	o    Options
	log  hclog.Logger
	kick chan struct{}
	// fetchMu makes fetches one at a time, so the replay set's check and
	// record of one envelope are never interleaved with another fetch's.
	fetchMu sync.Mutex
}

// EventRefused is the type of the event published for each envelope
// refused (Data: Refused).
const EventRefused = "mailbox.refused"

// Why an envelope was refused (Refused.Reason).
const (
	// ReasonUnreadable: it does not open, verify or fit the time window.
	ReasonUnreadable = "unreadable"
	// ReasonReplay: it was delivered before.
	ReasonReplay = "replay"
	// ReasonNotAccepted: no capability takes its command from a mailbox.
	ReasonNotAccepted = "not_accepted"
	// ReasonFirewall: the firewall denies the sender "mailbox".
	ReasonFirewall = "firewall"
	// ReasonHandler: the capability refused the payload (an invalid one,
	// an op from a non-member), or the node failed to take it.
	ReasonHandler = "handler"
)

// Refused is the data of a mailbox.refused event.
type Refused struct {
	// ID is the hub's id of the envelope.
	ID string `json:"id"`
	// Peer is the verified sender; empty when the envelope did not open.
	Peer    string `json:"peer,omitempty"`
	Command string `json:"command,omitempty"`
	Reason  string `json:"reason"`
	Error   string `json:"error"`
}

// Fetching and its bounds.
const (
	defaultFetchEvery = time.Minute
	// fetchLimit is the page size asked of the hub.
	fetchLimit = 100
	// maxPages bounds one fetch round, should acks not take.
	maxPages = 20
	// seenPrefix holds the replay set: mbseen/<hex SHA-256 of the envelope>.
	seenPrefix = "mbseen/"
	// minTTL is the shortest time a hub keeps an envelope.
	minTTL = time.Minute
)

// NewService builds the service; it fetches from the network's Run hook
// on, every FetchEvery and whenever Kick is called, while logged in.
func NewService(o Options) *Service {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.FetchEvery <= 0 {
		o.FetchEvery = defaultFetchEvery
	}
	s := &Service{o: o, log: o.Logger.Named("mailbox"), kick: make(chan struct{}, 1)}
	o.Net.AddHooks(network.Hooks{Run: s.run})
	return s
}

// Kick asks for a fetch now: the node just logged in, or the hub said an
// envelope arrived.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default: // one is pending already
	}
}

// Ready tells whether envelopes can be sent and fetched now: a hub is
// configured and the node is logged in to it.
func (s *Service) Ready() bool { return s.o.Hub != nil && s.o.Hub.CheckLoggedIn() == nil }

func (s *Service) run(ctx context.Context) {
	t := time.NewTicker(s.o.FetchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		if s.Ready() {
			s.Fetch(ctx)
		}
	}
}

// Fetch takes every envelope waiting at the hub: each is opened, checked
// and dispatched or refused, then acknowledged, so the hub drops it either
// way (a refused one would come back forever otherwise).
func (s *Service) Fetch(ctx context.Context) {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	for range maxPages {
		res, err := s.o.Hub.MailboxFetch(ctx, sdk.MailboxFetchRequest{Limit: fetchLimit})
		if ctx.Err() != nil {
			return // shutting down
		}
		if errors.Is(err, sdk.ErrUnsupported) {
			// A hub older than the mailbox: nothing waits there.
			s.log.Debug("the hub has no mailbox", "error", err)
			return
		}
		if err != nil {
			s.log.Warn("fetching the mailbox", "error", err)
			return
		}
		if len(res.Envelopes) == 0 {
			return
		}
		ids := make([]string, 0, len(res.Envelopes))
		for _, e := range res.Envelopes {
			if ev := s.take(ctx, e); ev != nil {
				s.log.Info("refused a mailbox envelope", "id", e.ID, "peer", ev.Peer, "reason", ev.Reason, "error", ev.Error)
				s.o.Net.Bus().Publish(network.Event{Type: EventRefused, Peer: ev.Peer, Data: *ev})
			}
			ids = append(ids, e.ID)
		}
		if err := s.o.Hub.MailboxAck(ctx, sdk.MailboxAckRequest{EnvelopeIDs: ids}); err != nil {
			s.log.Warn("acknowledging mailbox envelopes", "count", len(ids), "error", err)
			return
		}
		if len(res.Envelopes) < fetchLimit {
			return
		}
	}
}

// take opens one envelope and hands its payload to the capability that
// registered its command, if the envelope is new, the command accepted
// from a mailbox and the sender allowed by the firewall; otherwise it says
// why not.
func (s *Service) take(ctx context.Context, e sdk.MailboxEnvelope) *Refused {
	refuse := func(reason, peer, command string, err error) *Refused {
		return &Refused{ID: e.ID, Peer: peer, Command: command, Reason: reason, Error: err.Error()}
	}
	l, err := Open(s.o.Identity, e.Envelope)
	if err != nil {
		return refuse(ReasonUnreadable, "", "", err)
	}
	key := seenKey(l)
	switch _, err := s.o.Store.Get(key); {
	case err == nil:
		return refuse(ReasonReplay, l.Sender, l.Command, fmt.Errorf("%w: made %s", ErrReplay, l.Created.UTC().Format(time.RFC3339)))
	case !errors.Is(err, store.ErrNotFound):
		return refuse(ReasonHandler, l.Sender, l.Command, fmt.Errorf("the replay set: %w", err))
	}
	// Remembered whatever comes next: an authentic envelope is judged once.
	defer s.remember(key, l)
	if !s.o.Net.Router().AcceptsMailbox(l.Command) {
		return refuse(ReasonNotAccepted, l.Sender, l.Command, fmt.Errorf("%w: %s", network.ErrNotMailboxCommand, l.Command))
	}
	// As for a session: the firewall decides on the verified node_id, and a
	// stranger matches no rule, so it is denied.
	if d := s.o.Net.Check(l.Sender, firewall.Mailbox); !d.Allowed {
		return refuse(ReasonFirewall, l.Sender, l.Command, fmt.Errorf("the firewall denies %s the %q resource (%s)", l.Sender, firewall.Mailbox, ruleOrDefault(d.Rule)))
	}
	if err := s.o.Net.Router().DispatchMailbox(ctx, l.Sender, l.Command, l.Payload); err != nil {
		return refuse(ReasonHandler, l.Sender, l.Command, err)
	}
	s.log.Debug("mailbox envelope delivered", "peer", l.Sender, "command", l.Command)
	return nil
}

// remember records l in the replay set until it would expire anyway.
func (s *Service) remember(key []byte, l Letter) {
	ttl := time.Until(l.Created.Add(MaxAge + MaxSkew))
	err := s.o.Store.DB().Update(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry(key, []byte{1}).WithTTL(ttl))
	})
	if err != nil {
		s.log.Error("recording a mailbox envelope in the replay set", "peer", l.Sender, "error", err)
	}
}

func seenKey(l Letter) []byte { return []byte(seenPrefix + hex.EncodeToString(l.Digest[:])) }

func ruleOrDefault(rule string) string {
	if rule == "" {
		return "no rule allows it"
	}
	return rule
}

// Send seals p to peer to, whose envelope key its peer record holds, and
// leaves it at the hub for ttl (0: the longest, MaxAge; at least a minute).
func (s *Service) Send(ctx context.Context, to string, p dptp.Payload, ttl time.Duration) error {
	if s.o.Hub == nil {
		return fmt.Errorf("mail %s: %w", p.Command(), hubsvc.ErrNoHub)
	}
	if to == s.o.Identity.NodeID {
		return fmt.Errorf("mail %s: %w", p.Command(), network.ErrSelf)
	}
	if err := s.o.Hub.CheckLoggedIn(); err != nil {
		return fmt.Errorf("mail %s to %s: %w", p.Command(), to, err)
	}
	rec, err := s.o.Peers.Get(to)
	if errors.Is(err, peers.ErrUnknownPeer) {
		return fmt.Errorf("mail %s: %w: %w (dpc connect it once so that its envelope key is known)", p.Command(), ErrNoEnvelopeKey, err)
	}
	if err != nil {
		return fmt.Errorf("mail %s to %s: %w", p.Command(), to, err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("mail %s to %s: %w", p.Command(), to, err)
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("mail %s to %s: %w", p.Command(), to, err)
	}
	env, err := Seal(s.o.Identity, rec, p.Command(), payload)
	if err != nil {
		return fmt.Errorf("mail %s: %w", p.Command(), err)
	}
	switch {
	case ttl <= 0 || ttl > MaxAge:
		ttl = MaxAge
	case ttl < minTTL:
		ttl = minTTL
	}
	if _, err := s.o.Hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: to, Envelope: env, TTL: ttl}); err != nil {
		return fmt.Errorf("mail %s to %s: the hub: %w", p.Command(), to, err)
	}
	return nil
}
