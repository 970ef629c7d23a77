package files

// The files service: FILE_OFFER/ACCEPT/CHUNK/COMPLETE/CANCEL, offers sent
// again on reconnect so transfers resume, and stale partial files expired.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Net      *network.Network
	Store    *Store
	Peers    *peers.Store
	Firewall *firewall.Engine
	Logger   hclog.Logger
}

// Service is the file-transfer capability on the network core.
type Service struct {
	net   *network.Network
	store *Store
	peers *peers.Store
	fw    *firewall.Engine
	log   hclog.Logger
	x     *transfers
}

// NewService registers the file commands and hooks with o.Net (before it
// starts).
func NewService(o ServiceOptions) *Service {
	svc := &Service{net: o.Net, store: o.Store, peers: o.Peers, fw: o.Firewall, log: o.Logger.Named("files"),
		x: &transfers{sending: map[string]*sender{}, lastNote: map[string]time.Time{}}}
	r := svc.net.Router()
	network.Handle(r, func(_ context.Context, s *session.Session, o dptp.FileOffer) error { return svc.onFileOffer(s, o) })
	network.Handle(r, func(_ context.Context, s *session.Session, a dptp.FileAccept) error { return svc.onFileAccept(s, a) })
	network.Handle(r, func(_ context.Context, s *session.Session, c dptp.FileChunk) error { return svc.onFileChunk(s, c) })
	network.Handle(r, func(_ context.Context, s *session.Session, c dptp.FileComplete) error {
		return svc.onFileComplete(s, c)
	})
	network.Handle(r, func(_ context.Context, s *session.Session, c dptp.FileCancel) error { return svc.onFileCancel(s, c) })
	svc.net.AddHooks(network.Hooks{
		Connected: func(s *session.Session) {
			if !s.V1 { // D-PC v1 has its own file format
				svc.reoffer(s)
			}
		},
		Run: svc.expireLoop,
	})
	return svc
}

// chunkSize is the data carried by one FILE_CHUNK.
const chunkSize = 64 << 10

// progressEvery throttles progress events per transfer.
const progressEvery = 200 * time.Millisecond

// ErrInvalidFile means a file cannot be offered.
var ErrInvalidFile = errors.New("cannot send this file")

// transfers tracks what is moving right now (the durable state is in
// Store).
type transfers struct {
	mu       sync.Mutex
	sending  map[string]*sender   // outgoing transfers being streamed
	lastNote map[string]time.Time // last progress event per transfer
}

// sender streams one outgoing transfer on one session; a new FILE_ACCEPT on
// that session moves it to the offset the receiver asks for.
type sender struct {
	s       *session.Session
	restart chan int64
}

// publishTransfer tells the user about t; progress-only updates are
// throttled.
func (svc *Service) publishTransfer(t Transfer, progressOnly bool) {
	x := svc.x
	x.mu.Lock()
	if progressOnly && time.Since(x.lastNote[t.ID]) < progressEvery {
		x.mu.Unlock()
		return
	}
	x.lastNote[t.ID] = time.Now()
	if t.State.Done() {
		delete(x.lastNote, t.ID)
	}
	x.mu.Unlock()
	svc.net.Bus().Publish(network.Event{Type: "transfer", Peer: t.Peer, Data: t})
}

// SendFile offers the file at path to peer. It returns once the offer is
// recorded; the file moves when the peer accepts (now or after reconnecting).
func (svc *Service) SendFile(to, path string) (Transfer, error) {
	if to == svc.net.Self() {
		return Transfer{}, network.ErrSelf
	}
	if !dpcuri.ValidNodeID(to) {
		return Transfer{}, fmt.Errorf("%w: %q is not a node_id", ErrInvalidFile, to)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Transfer{}, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Transfer{}, fmt.Errorf("%w: %w", ErrInvalidFile, err)
	}
	if !fi.Mode().IsRegular() {
		return Transfer{}, fmt.Errorf("%w: %s is not a regular file", ErrInvalidFile, abs)
	}
	if err := CheckName(filepath.Base(abs)); err != nil {
		// The peer would refuse it; better to say so now.
		return Transfer{}, fmt.Errorf("%w: %w; peers refuse such names, so rename the file first", ErrInvalidFile, err)
	}
	sum, size, err := HashFile(abs)
	if err != nil {
		return Transfer{}, fmt.Errorf("%w: %w", ErrInvalidFile, err)
	}
	now := time.Now().UTC()
	t := Transfer{ID: network.NewID(), Peer: to, Direction: Outgoing, Name: filepath.Base(abs),
		Path: abs, Size: size, SHA256: sum, MimeType: DetectMime(abs), State: StateOffered, Created: now}
	if err := svc.store.Put(t); err != nil {
		return Transfer{}, err
	}
	svc.publishTransfer(t, false)
	svc.net.SendTo(to, dptp.CmdFileOffer, offerOf(t))
	svc.net.Wake(to)
	return t, nil
}

func offerOf(t Transfer) dptp.FileOffer {
	return dptp.FileOffer{TransferID: t.ID, Filename: t.Name, SizeBytes: t.Size, SHA256: t.SHA256,
		MIMEType: t.MimeType, ChunkSize: chunkSize}
}

// Transfers lists every transfer, newest first.
func (svc *Service) Transfers() ([]Transfer, error) { return svc.store.List() }

// reoffer sends again the offers of unfinished outgoing transfers to the
// peer of a new session; the peer answers with the offset to resume from.
func (svc *Service) reoffer(s *session.Session) {
	list, err := svc.store.List()
	if err != nil {
		svc.log.Error("listing transfers", "error", err)
		return
	}
	for i := len(list) - 1; i >= 0; i-- { // oldest first
		t := list[i]
		if t.Peer == s.PeerID && t.Direction == Outgoing && !t.State.Done() {
			if err := s.Send(dptp.CmdFileOffer, offerOf(t)); err != nil {
				return
			}
		}
	}
}

// expireEvery is how often stale partial files are looked for.
const expireEvery = time.Hour

// expireLoop removes partial files that received nothing for
// PartialMaxAge, at start and then every expireEvery.
func (svc *Service) expireLoop(ctx context.Context) {
	t := time.NewTicker(expireEvery)
	defer t.Stop()
	for {
		expired, err := svc.store.ExpirePartials(time.Now())
		if err != nil {
			svc.log.Error("removing stale partial files", "error", err)
		}
		for _, x := range expired {
			svc.log.Info("a file transfer expired", "peer", x.Peer, "file", x.Name, "reason", x.Reason)
			svc.publishTransfer(x, false)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// finish records the end of a transfer.
func (svc *Service) finish(t Transfer, st State, reason string) {
	t.State, t.Reason = st, reason
	if err := svc.store.Put(t); err != nil {
		svc.log.Error("recording a transfer", "transfer", t.ID, "error", err)
	}
	svc.publishTransfer(t, false)
}

// onFileOffer decides on an incoming file: its name must be safe
// (CheckName) and the firewall and its limits must allow it; then it
// is accepted at once, resuming any partial copy, unless it is larger than
// ask_above_mb: such an offer waits, unanswered, for the user
// (AcceptTransfer).
func (svc *Service) onFileOffer(s *session.Session, o dptp.FileOffer) error {
	cancel := func(reason, msg string) error {
		svc.log.Info("refused a file", "peer", s.PeerID, "file", o.Filename, "reason", reason, "detail", msg)
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: o.TransferID, Reason: reason, Message: dptp.TruncateReason(msg)})
	}
	t, err := svc.store.Get(o.TransferID)
	switch {
	case err == nil && (t.Peer != s.PeerID || t.Direction != Incoming):
		return cancel(dptp.CancelError, "transfer id already in use")
	case err == nil && t.State.Done():
		if t.State == StateCompleted {
			return s.Send(dptp.CmdFileComplete, dptp.FileComplete{TransferID: t.ID, SHA256: t.SHA256})
		}
		return cancel(dptp.CancelError, "transfer was cancelled: "+t.Reason)
	case err == nil && t.State == StateWaiting:
		return nil // offered again; still waiting for the user
	case errors.Is(err, ErrNotFound):
		reason, msg, ask := svc.judgeOffer(s.PeerID, o)
		if reason != "" {
			return cancel(reason, msg)
		}
		t = Transfer{ID: o.TransferID, Peer: s.PeerID, Direction: Incoming, Name: o.Filename,
			Size: o.SizeBytes, SHA256: o.SHA256, MimeType: o.MIMEType, State: StateTransferring,
			Created: time.Now().UTC()}
		if ask {
			t.State = StateWaiting
			if err := svc.store.Put(t); err != nil {
				return cancel(dptp.CancelError, "cannot store the file")
			}
			svc.log.Info("a file waits for the user: larger than ask_above_mb", "peer", s.PeerID, "file", t.Name,
				"bytes", t.Size, "accept", "dpc transfers accept "+t.ID)
			svc.publishTransfer(t, false)
			return nil
		}
	case err != nil:
		return err
	}
	f, have, err := svc.store.OpenPartial(t)
	if err != nil {
		svc.log.Error("opening a partial file", "error", err)
		return cancel(dptp.CancelError, "cannot store the file")
	}
	_ = f.Close()
	if have > t.Size {
		svc.store.Discard(t)
		have = 0
	}
	t.Offset = have
	if have > 0 {
		svc.log.Info("resuming a file transfer", "peer", s.PeerID, "file", t.Name, "offset", have, "size", t.Size)
	}
	if err := svc.store.Put(t); err != nil {
		return cancel(dptp.CancelError, "cannot store the file")
	}
	svc.publishTransfer(t, false)
	if have == t.Size {
		return svc.completeIncoming(s, t)
	}
	return s.Send(dptp.CmdFileAccept, dptp.FileAccept{TransferID: t.ID, Offset: have})
}

// judgeOffer decides on a new offer from peer: reason (a FILE_CANCEL
// reason) and msg say why it is refused, "" if it is not; ask is set when
// it must wait for the user (larger than ask_above_mb).
func (svc *Service) judgeOffer(peer string, o dptp.FileOffer) (reason, msg string, ask bool) {
	if d := svc.net.Check(peer, "files"); !d.Allowed {
		svc.log.Info("firewall refused a file", "peer", peer, "rule", d.Rule)
		return dptp.CancelFirewallDenied, "this node does not accept files from you", false
	}
	lim := svc.fw.Rules().FileLimits(peer, svc.peers)
	if ok, why := lim.Allows(o.SizeBytes, o.MIMEType); !ok {
		reason := dptp.CancelSizeLimitExceeded
		if o.SizeBytes <= lim.MaxSizeBytes || lim.MaxSizeBytes == 0 {
			reason = dptp.CancelTypeNotAllowed
		}
		return reason, why, false
	}
	if err := CheckName(o.Filename); err != nil {
		return dptp.CancelInvalidName, err.Error(), false
	}
	return "", "", lim.AsksUser(o.SizeBytes)
}

// ErrNotWaiting means a transfer is not an incoming offer waiting for the
// user.
var ErrNotWaiting = errors.New("transfer is not waiting for you")

// AcceptTransfer accepts an incoming offer that waits for the user (larger
// than the firewall's ask_above_mb). If the peer is connected it is asked
// for the data now; otherwise it will be when it offers the file again on
// reconnecting.
func (svc *Service) AcceptTransfer(id string) (Transfer, error) {
	t, err := svc.store.Get(id)
	if err != nil {
		return Transfer{}, err
	}
	if t.Direction != Incoming || t.State != StateWaiting {
		return Transfer{}, fmt.Errorf("%w: transfer %s is %s %s; dpc transfers lists the ones waiting", ErrNotWaiting, id, t.Direction, t.State)
	}
	t.State = StateTransferring
	if err := svc.store.Put(t); err != nil {
		return Transfer{}, err
	}
	svc.log.Info("the user accepted a file", "peer", t.Peer, "file", t.Name, "bytes", t.Size)
	svc.publishTransfer(t, false)
	svc.net.SendTo(t.Peer, dptp.CmdFileAccept, dptp.FileAccept{TransferID: t.ID, Offset: 0})
	return t, nil
}

// onFileChunk appends a chunk; the partial file's size says where we are.
func (svc *Service) onFileChunk(s *session.Session, c dptp.FileChunk) error {
	t, err := svc.store.Get(c.TransferID)
	if err != nil || t.Peer != s.PeerID || t.Direction != Incoming || t.State.Done() {
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: c.TransferID, Reason: dptp.CancelError, Message: "no such transfer"})
	}
	fail := func() error {
		svc.store.Discard(t)
		svc.finish(t, StateCancelled, "cannot write the file")
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "cannot write the file"})
	}
	f, have, err := svc.store.OpenPartial(t)
	if err != nil {
		return fail()
	}
	if c.Offset != have || have+int64(len(c.Data)) > t.Size {
		// Out of step (e.g. chunks of an older session): ask again from here.
		_ = f.Close()
		return s.Send(dptp.CmdFileAccept, dptp.FileAccept{TransferID: t.ID, Offset: have})
	}
	_, werr := f.Write(c.Data)
	if cerr := f.Close(); werr != nil || cerr != nil {
		return fail()
	}
	t.Offset = have + int64(len(c.Data))
	if t.Offset < t.Size {
		svc.publishTransfer(t, true)
		return nil
	}
	return svc.completeIncoming(s, t)
}

// completeIncoming verifies the whole file and publishes it. The bytes and
// the final name are synced to disk before FILE_COMPLETE tells the sender
// it may forget the file.
func (svc *Service) completeIncoming(s *session.Session, t Transfer) error {
	if err := svc.store.SyncPartial(t); err != nil {
		svc.log.Error("syncing a received file", "error", err)
		svc.finish(t, StateCancelled, "cannot save the file")
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "cannot save the file"})
	}
	sum, size, err := HashFile(svc.store.PartialPath(t))
	if err != nil || sum != t.SHA256 || size != t.Size {
		svc.store.Discard(t)
		svc.finish(t, StateCancelled, dptp.CancelHashMismatch)
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelHashMismatch,
			Message: "the received bytes do not match the offered sha256"})
	}
	path, err := svc.store.Finalize(t)
	if err != nil {
		svc.log.Error("saving a received file", "error", err)
		svc.finish(t, StateCancelled, "cannot save the file")
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "cannot save the file"})
	}
	t.Path, t.Offset = path, t.Size
	svc.finish(t, StateCompleted, "")
	svc.log.Info("file received", "peer", s.PeerID, "path", path, "bytes", t.Size)
	return s.Send(dptp.CmdFileComplete, dptp.FileComplete{TransferID: t.ID, SHA256: sum})
}

// onFileAccept starts (or resumes) sending from the offset the peer asks.
func (svc *Service) onFileAccept(s *session.Session, a dptp.FileAccept) error {
	t, err := svc.store.Get(a.TransferID)
	if err != nil || t.Peer != s.PeerID || t.Direction != Outgoing || t.State.Done() {
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: a.TransferID, Reason: dptp.CancelError, Message: "no such transfer"})
	}
	if a.Offset > t.Size {
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "offset beyond the end"})
	}
	x := svc.x
	x.mu.Lock()
	if cur := x.sending[t.ID]; cur != nil && cur.s == s {
		x.mu.Unlock()
		select { // replace any restart not taken yet
		case <-cur.restart:
		default:
		}
		cur.restart <- a.Offset
		return nil
	}
	snd := &sender{s: s, restart: make(chan int64, 1)}
	x.sending[t.ID] = snd
	x.mu.Unlock()
	t.State, t.Offset = StateTransferring, a.Offset
	_ = svc.store.Put(t)
	svc.net.Go(func(context.Context) {
		defer func() {
			x.mu.Lock()
			if x.sending[t.ID] == snd {
				delete(x.sending, t.ID)
			}
			x.mu.Unlock()
		}()
		svc.sendChunks(snd, t)
	})
	return nil
}

// sendChunks streams the file from t.Offset; the receiver's FILE_COMPLETE
// ends the transfer.
func (svc *Service) sendChunks(snd *sender, t Transfer) {
	s := snd.s
	f, err := os.Open(t.Path)
	if err != nil {
		svc.finish(t, StateCancelled, "source file unavailable: "+err.Error())
		_ = s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "the sender lost the file"})
		return
	}
	defer f.Close()
	buf := make([]byte, chunkSize)
	off := t.Offset
	for off < t.Size {
		select {
		case off = <-snd.restart:
		default:
		}
		k, err := f.ReadAt(buf[:min(int64(chunkSize), t.Size-off)], off)
		if err != nil && !errors.Is(err, io.EOF) || k == 0 {
			svc.finish(t, StateCancelled, "reading the source file failed")
			_ = s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "the sender cannot read the file"})
			return
		}
		if err := s.Send(dptp.CmdFileChunk, dptp.FileChunk{TransferID: t.ID, Offset: off, Data: buf[:k]}); err != nil {
			return // the session ended; the transfer resumes on the next one
		}
		off += int64(k)
		t.Offset = off
		svc.publishTransfer(t, true)
	}
	// Done sending; a late FILE_ACCEPT starts a new sender.
	_ = svc.store.Put(t)
}

// onFileComplete: the receiver verified the file.
func (svc *Service) onFileComplete(s *session.Session, c dptp.FileComplete) error {
	t, err := svc.store.Get(c.TransferID)
	if err != nil || t.Peer != s.PeerID || t.Direction != Outgoing || t.State.Done() {
		return nil
	}
	if c.SHA256 != t.SHA256 {
		svc.finish(t, StateCancelled, dptp.CancelHashMismatch)
		return nil
	}
	t.Offset = t.Size
	svc.finish(t, StateCompleted, "")
	return nil
}

// onFileCancel: the other side gave up or refused.
func (svc *Service) onFileCancel(s *session.Session, c dptp.FileCancel) error {
	t, err := svc.store.Get(c.TransferID)
	if err != nil || t.Peer != s.PeerID || t.State.Done() {
		return nil
	}
	reason := c.Reason
	if c.Message != "" {
		reason += ": " + c.Message
	}
	if t.Direction == Incoming {
		svc.store.Discard(t)
	}
	svc.log.Info("transfer cancelled by peer", "peer", s.PeerID, "file", t.Name, "reason", reason)
	svc.finish(t, StateCancelled, reason)
	return nil
}
