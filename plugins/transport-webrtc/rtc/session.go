package rtc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pion/webrtc/v4"

	"github.com/dpc-go/dpc/sdk"
)

const (
	// dcLabel is the label of the one data channel (proto/webrtc.md §3).
	dcLabel = "dpc"
	// signalTimeout bounds one RouteSignal call.
	signalTimeout = 10 * time.Second
	// maxOutbox bounds the signals a session has queued for the hub; they
	// are made here (a description and this machine's candidates), so the
	// bound is never reached in practice and past it candidates are dropped.
	maxOutbox = 256
	// maxEarlyCandidates bounds remote candidates kept until the remote
	// description they belong to is applied.
	maxEarlyCandidates = 64
	// sctpRTOMax caps SCTP's retransmission timeout (see newEngine).
	sctpRTOMax = 3 * time.Second
	// restartInterval is how long one ICE restart may take before the
	// offering side tries another.
	restartInterval = 5 * time.Second
	// minRestartGap is the least time between two restart offers the
	// answering side applies: each costs an answer and a new gathering, and
	// the offering side sends one every restartInterval.
	minRestartGap = time.Second
	// lingerTimeout bounds how long Close waits for the peer to acknowledge
	// the bytes already written.
	lingerTimeout = 5 * time.Second
)

// session is one peer connection, dialed (offerer) or answered, with its
// signaling state.
type session struct {
	p       *Plugin
	st      *state
	log     hclog.Logger
	key     sessionKey
	offerer bool
	pc      *webrtc.PeerConnection
	// pending is true while an answered session holds a pending slot;
	// guarded by p.mu.
	pending bool

	// ready is closed once conn is set (the data channel is open).
	ready chan struct{}
	conn  *conn
	// done is closed by close, after err is set.
	done      chan struct{}
	closeOnce sync.Once
	err       error

	outMu sync.Mutex
	out   []sdk.Signal
	wake  chan struct{}

	mu sync.Mutex
	// holdLocal buffers this side's candidates in localCands until the
	// description they belong to is queued, so the peer gets them after it.
	holdLocal  bool
	localCands []webrtc.ICECandidateInit
	// remoteReady is true while the remote description the next remote
	// candidates belong to is applied; before, they wait in remoteCands.
	remoteReady bool
	remoteCands []webrtc.ICECandidateInit
	// answered is true once an answer arrived (offerer).
	answered   bool
	iceState   webrtc.ICEConnectionState
	recovering bool
	// lastRestart is when the last restart offer was applied (answerer).
	lastRestart time.Time
	// back gets a value whenever ICE (re)connects.
	back chan struct{}
}

// newSession makes the peer connection of a session and wires its
// callbacks; it is not recorded anywhere yet.
func newSession(ctx context.Context, p *Plugin, st *state, key sessionKey, offerer bool) (*session, error) {
	cfg := webrtc.Configuration{ICEServers: iceServers(ctx, st)}
	if st.cfg.RelayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := st.eng.api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: new peer connection: %w", pluginName, err)
	}
	s := &session{
		p: p, st: st, key: key, offerer: offerer, pc: pc,
		log:   st.log.With("peer_node_id", key.peer, "cid", key.cid),
		ready: make(chan struct{}), done: make(chan struct{}),
		wake: make(chan struct{}, 1), back: make(chan struct{}, 1),
	}
	pc.OnICECandidate(s.onLocalCandidate)
	pc.OnICEConnectionStateChange(s.onICEState)
	return s, nil
}

// start records s with the plugin and starts its signal sender.
func (s *session) start() error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if !s.p.open {
		return fmt.Errorf("%s: %w: shut down", pluginName, sdk.ErrNotConfigured)
	}
	if s.p.sessions == nil {
		s.p.sessions = map[sessionKey]*session{}
	}
	if _, dup := s.p.sessions[s.key]; dup {
		return fmt.Errorf("%s: %w: connection %s with %s exists already", pluginName, ErrInvalidSignal, s.key.cid, s.key.peer)
	}
	s.p.sessions[s.key] = s
	s.p.wg.Add(1)
	go s.sendLoop(s.st.host)
	return nil
}

// queue adds a signal to the outbox; it never blocks. Once the session is
// closed nothing more is queued (close queues webrtc-close itself).
func (s *session) queue(m message) {
	if s.closed() != nil {
		return
	}
	payload, err := m.encode()
	if err != nil {
		s.log.Error("cannot encode a signal", "error", err)
		return
	}
	sig := sdk.Signal{To: sdk.SignalViaHub, PeerNodeID: s.key.peer, Type: m.Type, Payload: payload}
	s.outMu.Lock()
	if len(s.out) >= maxOutbox {
		s.outMu.Unlock()
		s.log.Warn("too many signals queued for the hub; dropping one", "type", m.Type)
		return
	}
	s.out = append(s.out, sig)
	s.outMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// sendLoop sends the outbox in order through the host until the session is
// done and the outbox (ending with webrtc-close) is empty.
func (s *session) sendLoop(host sdk.Host) {
	defer s.p.wg.Done()
	for {
		s.outMu.Lock()
		var sig *sdk.Signal
		if len(s.out) > 0 {
			sig = &s.out[0]
			s.out = s.out[1:]
		}
		s.outMu.Unlock()
		if sig == nil {
			select {
			case <-s.wake:
				continue
			case <-s.done:
				s.outMu.Lock()
				empty := len(s.out) == 0
				s.outMu.Unlock()
				if empty {
					return
				}
				continue
			}
		}
		if host == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
		if err := host.RouteSignal(ctx, *sig); err != nil {
			s.log.Debug("cannot send a signal through the hub", "type", sig.Type, "error", err)
		}
		cancel()
	}
}

// announce sets desc as the local description and queues it, then the
// candidates gathered meanwhile, in that order.
func (s *session) announce(typ string, desc webrtc.SessionDescription, restart bool) error {
	s.mu.Lock()
	s.holdLocal = true
	s.mu.Unlock()
	err := s.pc.SetLocalDescription(desc)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.localCands, s.holdLocal = nil, false
		return fmt.Errorf("set the local %s: %w", desc.Type, err)
	}
	s.queue(message{Type: typ, CID: s.key.cid, SDP: desc.SDP, Restart: restart})
	for _, c := range s.localCands {
		s.queue(message{Type: typeCandidate, CID: s.key.cid, Candidate: &c})
	}
	s.localCands, s.holdLocal = nil, false
	return nil
}

func (s *session) onLocalCandidate(c *webrtc.ICECandidate) {
	if c == nil {
		return // end of gathering; peers do not need it
	}
	init := c.ToJSON()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holdLocal {
		if len(s.localCands) < maxOutbox {
			s.localCands = append(s.localCands, init)
		}
		return
	}
	s.queue(message{Type: typeCandidate, CID: s.key.cid, Candidate: &init})
}

// setRemote applies a remote description, then the candidates that came
// before it.
func (s *session) setRemote(desc webrtc.SessionDescription) error {
	if err := s.pc.SetRemoteDescription(desc); err != nil {
		return fmt.Errorf("set the remote %s: %w", desc.Type, err)
	}
	s.mu.Lock()
	s.remoteReady = true
	early := s.remoteCands
	s.remoteCands = nil
	s.mu.Unlock()
	for _, c := range early {
		s.addCandidate(c)
	}
	return nil
}

func (s *session) addCandidate(c webrtc.ICECandidateInit) {
	if err := s.pc.AddICECandidate(c); err != nil {
		s.log.Debug("ignoring a remote candidate", "error", err)
	}
}

// handle takes a decoded signal for this session. Its error is only for
// the host's log: a restart offer right after another is refused.
func (s *session) handle(m message) error {
	switch m.Type {
	case typeAnswer:
		if !s.offerer {
			s.log.Debug("ignoring an answer to an offer this side did not make")
			return nil
		}
		if s.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
			s.log.Debug("ignoring an answer without an offer outstanding")
			return nil
		}
		if err := s.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			s.log.Debug("the peer's answer does not apply", "error", err)
			s.close(fmt.Errorf("%s: %w: the answer of %s does not apply: %w", pluginName, sdk.ErrUnavailable, s.key.peer, err), "bad answer")
			return nil
		}
		s.mu.Lock()
		s.answered = true
		s.mu.Unlock()
	case typeOffer:
		if s.offerer || !m.Restart {
			s.log.Debug("ignoring an offer for a connection that exists")
			return nil
		}
		s.mu.Lock()
		tooSoon := time.Since(s.lastRestart) < minRestartGap
		if !tooSoon {
			s.lastRestart = time.Now()
		}
		s.mu.Unlock()
		if tooSoon {
			return fmt.Errorf("%s: %w: a restart offer for %s less than %s after the last one", pluginName, ErrRateLimited, s.key.cid, minRestartGap)
		}
		if err := s.answerOffer(m.SDP, true); err != nil {
			s.log.Debug("cannot answer an ICE restart", "error", err)
		}
	case typeCandidate:
		if m.Candidate.Candidate == "" {
			return nil // end of candidates
		}
		s.mu.Lock()
		if !s.remoteReady {
			if len(s.remoteCands) < maxEarlyCandidates {
				s.remoteCands = append(s.remoteCands, *m.Candidate)
			}
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		s.addCandidate(*m.Candidate)
	case typeClose:
		s.log.Debug("the peer closed the connection", "reason", m.Reason)
		s.close(fmt.Errorf("%s: %w (%s)", pluginName, ErrClosedByPeer, reasonOr(m.Reason, "webrtc-close")), "")
	}
	return nil
}

// answerOffer applies an offer and queues the answer.
func (s *session) answerOffer(sdp string, restart bool) error {
	if err := s.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create the answer: %w", err)
	}
	return s.announce(typeAnswer, ans, restart)
}

func reasonOr(r, def string) string {
	if r == "" {
		return def
	}
	return r
}

// onICEState follows the ICE connection: a path lost after the data
// channel opened is recovered with ICE restarts (offerer) for at most
// reconnect_timeout_ms, then the connection is closed.
func (s *session) onICEState(state webrtc.ICEConnectionState) {
	s.log.Debug("ICE connection state", "state", state.String())
	select {
	case <-s.ready:
	default:
		s.mu.Lock()
		s.iceState = state
		s.mu.Unlock()
		if state == webrtc.ICEConnectionStateFailed {
			go s.close(fmt.Errorf("%s: %w: ICE failed: no network path to %s worked", pluginName, sdk.ErrUnavailable, s.key.peer), "ice failed")
		}
		return
	}
	// The state and the recovering flag change together, so that a loss
	// right after a recovery ended starts a new one.
	s.mu.Lock()
	s.iceState = state
	start := !s.recovering && lost(state)
	if start {
		s.recovering = true
	}
	s.mu.Unlock()
	if connected(state) {
		select {
		case s.back <- struct{}{}:
		default:
		}
	}
	if start {
		go s.recover()
	}
}

func connected(st webrtc.ICEConnectionState) bool {
	return st == webrtc.ICEConnectionStateConnected || st == webrtc.ICEConnectionStateCompleted
}

func lost(st webrtc.ICEConnectionState) bool {
	return st == webrtc.ICEConnectionStateDisconnected || st == webrtc.ICEConnectionStateFailed
}

// recover waits for ICE to come back, sending restart offers (offerer)
// every restartInterval, and closes the session after reconnect_timeout_ms.
func (s *session) recover() {
	giveUp := time.NewTimer(s.st.cfg.reconnectTimeout())
	defer giveUp.Stop()
	for {
		if s.recovered() {
			s.log.Info("the network path is back")
			return
		}
		if s.offerer {
			if err := s.restartICE(); err != nil {
				s.log.Debug("ICE restart failed", "error", err)
			}
		}
		retry := time.NewTimer(restartInterval)
		select {
		case <-s.back:
		case <-retry.C:
		case <-s.done:
			retry.Stop()
			return
		case <-giveUp.C:
			retry.Stop()
			s.close(fmt.Errorf("%s: %w: no path to %s for %s (ICE restarts did not reconnect)", pluginName, ErrPathLost, s.key.peer, s.st.cfg.reconnectTimeout()), "path lost")
			return
		}
		retry.Stop()
		if s.recovered() {
			s.log.Info("the network path is back")
			return
		}
	}
}

// recovered reports whether ICE is connected again, ending the recovery
// if so.
func (s *session) recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if connected(s.iceState) {
		s.recovering = false
		return true
	}
	return false
}

// restartICE sends an offer with new ICE credentials for the same cid,
// with fresh ICE servers (the hub's TURN credentials are short-lived).
func (s *session) restartICE() error {
	ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
	defer cancel()
	cfg := s.pc.GetConfiguration()
	cfg.ICEServers = iceServers(ctx, s.st)
	if err := s.pc.SetConfiguration(cfg); err != nil {
		s.log.Debug("cannot update the ICE servers", "error", err)
	}
	if s.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		// The last restart offer went unanswered: take it back first.
		if err := s.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
			return fmt.Errorf("roll back the unanswered offer: %w", err)
		}
	}
	offer, err := s.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("create the restart offer: %w", err)
	}
	s.mu.Lock()
	s.remoteReady = false // the peer's next candidates belong to its next answer
	s.mu.Unlock()
	s.log.Info("network path lost; restarting ICE")
	return s.announce(typeOffer, offer, true)
}

// close ends the session once: err is what Read and Write report from now
// on; a non-empty reason sends webrtc-close with it to the peer. It never
// blocks on pion: the peer connection closes on its own goroutine.
func (s *session) close(err error, reason string) {
	s.closeOnce.Do(func() {
		s.err = err
		if reason != "" {
			payload, perr := message{Type: typeClose, CID: s.key.cid, Reason: reason}.encode()
			if perr == nil {
				s.outMu.Lock()
				s.out = append(s.out[:0], sdk.Signal{To: sdk.SignalViaHub, PeerNodeID: s.key.peer, Type: typeClose, Payload: payload})
				s.outMu.Unlock()
			}
		}
		close(s.done)
		s.p.forgetSession(s)
		s.log.Debug("connection closed", "error", err)
		s.p.mu.Lock()
		s.p.wg.Add(1)
		s.p.mu.Unlock()
		go func() {
			defer s.p.wg.Done()
			if err := s.pc.Close(); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
				s.log.Debug("closing the peer connection", "error", err)
			}
		}()
	})
}

// closed reports the session's error once it is done, else nil.
func (s *session) closed() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}
