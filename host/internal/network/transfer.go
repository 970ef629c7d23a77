package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dpc-go/dpc/sdk/dpcuri"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/session"
)

// chunkSize is the data carried by one FILE_CHUNK.
const chunkSize = 64 << 10

// progressEvery throttles progress events per transfer.
const progressEvery = 200 * time.Millisecond

// ErrInvalidFile means a file cannot be offered.
var ErrInvalidFile = errors.New("cannot send this file")

// transfers tracks what is moving right now (the durable state is in
// files.Store).
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

func (n *Network) xfers() *transfers {
	n.xferOnce.Do(func() {
		n.xfer = &transfers{sending: map[string]*sender{}, lastNote: map[string]time.Time{}}
	})
	return n.xfer
}

// publishTransfer tells the user about t; progress-only updates are
// throttled.
func (n *Network) publishTransfer(t files.Transfer, progressOnly bool) {
	x := n.xfers()
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
	n.o.Bus.Publish(Event{Type: "transfer", Peer: t.Peer, Data: t})
}

// SendFile offers the file at path to peer. It returns once the offer is
// recorded; the file moves when the peer accepts (now or after reconnecting).
func (n *Network) SendFile(to, path string) (files.Transfer, error) {
	if to == n.self {
		return files.Transfer{}, ErrSelf
	}
	if !dpcuri.ValidNodeID(to) {
		return files.Transfer{}, fmt.Errorf("%w: %q is not a node_id", ErrInvalidFile, to)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return files.Transfer{}, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return files.Transfer{}, fmt.Errorf("%w: %w", ErrInvalidFile, err)
	}
	if !fi.Mode().IsRegular() {
		return files.Transfer{}, fmt.Errorf("%w: %s is not a regular file", ErrInvalidFile, abs)
	}
	if err := files.CheckName(filepath.Base(abs)); err != nil {
		// The peer would refuse it; better to say so now.
		return files.Transfer{}, fmt.Errorf("%w: %w; peers refuse such names, so rename the file first", ErrInvalidFile, err)
	}
	sum, size, err := files.HashFile(abs)
	if err != nil {
		return files.Transfer{}, fmt.Errorf("%w: %w", ErrInvalidFile, err)
	}
	now := time.Now().UTC()
	t := files.Transfer{ID: NewID(), Peer: to, Direction: files.Outgoing, Name: filepath.Base(abs),
		Path: abs, Size: size, SHA256: sum, MimeType: files.DetectMime(abs), State: files.StateOffered, Created: now}
	if err := n.o.Files.Put(t); err != nil {
		return files.Transfer{}, err
	}
	n.publishTransfer(t, false)
	n.linkFor(to).send(dptp.CmdFileOffer, offerOf(t))
	n.linkFor(to).kick()
	return t, nil
}

func offerOf(t files.Transfer) dptp.FileOffer {
	return dptp.FileOffer{TransferID: t.ID, Filename: t.Name, SizeBytes: t.Size, SHA256: t.SHA256,
		MIMEType: t.MimeType, ChunkSize: chunkSize}
}

// Transfers lists every transfer, newest first.
func (n *Network) Transfers() ([]files.Transfer, error) { return n.o.Files.List() }

// reoffer sends again the offers of unfinished outgoing transfers to the
// peer of a new session; the peer answers with the offset to resume from.
func (n *Network) reoffer(s *session.Session) {
	if n.o.Files == nil {
		return
	}
	list, err := n.o.Files.List()
	if err != nil {
		n.log.Error("listing transfers", "error", err)
		return
	}
	for i := len(list) - 1; i >= 0; i-- { // oldest first
		t := list[i]
		if t.Peer == s.PeerID && t.Direction == files.Outgoing && !t.State.Done() {
			if err := s.Send(dptp.CmdFileOffer, offerOf(t)); err != nil {
				return
			}
		}
	}
}

// expireEvery is how often stale partial files are looked for.
const expireEvery = time.Hour

// expireLoop removes partial files that received nothing for
// files.PartialMaxAge, at start and then every expireEvery.
func (n *Network) expireLoop(ctx context.Context) {
	t := time.NewTicker(expireEvery)
	defer t.Stop()
	for {
		expired, err := n.o.Files.ExpirePartials(time.Now())
		if err != nil {
			n.log.Error("removing stale partial files", "error", err)
		}
		for _, x := range expired {
			n.log.Info("a file transfer expired", "peer", x.Peer, "file", x.Name, "reason", x.Reason)
			n.publishTransfer(x, false)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// finish records the end of a transfer.
func (n *Network) finish(t files.Transfer, st files.State, reason string) {
	t.State, t.Reason = st, reason
	if err := n.o.Files.Put(t); err != nil {
		n.log.Error("recording a transfer", "transfer", t.ID, "error", err)
	}
	n.publishTransfer(t, false)
}

// onFileOffer decides on an incoming file: its name must be safe
// (files.CheckName) and the firewall and its limits must allow it; then it
// is accepted at once, resuming any partial copy, unless it is larger than
// ask_above_mb: such an offer waits, unanswered, for the user
// (AcceptTransfer).
func (n *Network) onFileOffer(s *session.Session, o dptp.FileOffer) error {
	cancel := func(reason, msg string) error {
		n.log.Info("refused a file", "peer", s.PeerID, "file", o.Filename, "reason", reason, "detail", msg)
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: o.TransferID, Reason: reason, Message: dptp.TruncateReason(msg)})
	}
	t, err := n.o.Files.Get(o.TransferID)
	switch {
	case err == nil && (t.Peer != s.PeerID || t.Direction != files.Incoming):
		return cancel(dptp.CancelError, "transfer id already in use")
	case err == nil && t.State.Done():
		if t.State == files.StateCompleted {
			return s.Send(dptp.CmdFileComplete, dptp.FileComplete{TransferID: t.ID, SHA256: t.SHA256})
		}
		return cancel(dptp.CancelError, "transfer was cancelled: "+t.Reason)
	case err == nil && t.State == files.StateWaiting:
		return nil // offered again; still waiting for the user
	case errors.Is(err, files.ErrNotFound):
		if d := n.Check(s.PeerID, "files"); !d.Allowed {
			n.log.Info("firewall refused a file", "peer", s.PeerID, "rule", d.Rule)
			return cancel(dptp.CancelFirewallDenied, "this node does not accept files from you")
		}
		lim := n.o.Firewall.Rules().FileLimits(s.PeerID, n.o.Peers)
		if ok, why := lim.Allows(o.SizeBytes, o.MIMEType); !ok {
			reason := dptp.CancelSizeLimitExceeded
			if o.SizeBytes <= lim.MaxSizeBytes || lim.MaxSizeBytes == 0 {
				reason = dptp.CancelTypeNotAllowed
			}
			return cancel(reason, why)
		}
		if err := files.CheckName(o.Filename); err != nil {
			return cancel(dptp.CancelInvalidName, err.Error())
		}
		t = files.Transfer{ID: o.TransferID, Peer: s.PeerID, Direction: files.Incoming, Name: o.Filename,
			Size: o.SizeBytes, SHA256: o.SHA256, MimeType: o.MIMEType, State: files.StateTransferring,
			Created: time.Now().UTC()}
		if lim.AsksUser(o.SizeBytes) {
			t.State = files.StateWaiting
			if err := n.o.Files.Put(t); err != nil {
				return cancel(dptp.CancelError, "cannot store the file")
			}
			n.log.Info("a file waits for the user: larger than ask_above_mb", "peer", s.PeerID, "file", t.Name,
				"bytes", t.Size, "accept", "dpc transfers accept "+t.ID)
			n.publishTransfer(t, false)
			return nil
		}
	case err != nil:
		return err
	}
	f, have, err := n.o.Files.OpenPartial(t)
	if err != nil {
		n.log.Error("opening a partial file", "error", err)
		return cancel(dptp.CancelError, "cannot store the file")
	}
	_ = f.Close()
	if have > t.Size {
		n.o.Files.Discard(t)
		have = 0
	}
	t.Offset = have
	if have > 0 {
		n.log.Info("resuming a file transfer", "peer", s.PeerID, "file", t.Name, "offset", have, "size", t.Size)
	}
	if err := n.o.Files.Put(t); err != nil {
		return cancel(dptp.CancelError, "cannot store the file")
	}
	n.publishTransfer(t, false)
	if have == t.Size {
		return n.completeIncoming(s, t)
	}
	return s.Send(dptp.CmdFileAccept, dptp.FileAccept{TransferID: t.ID, Offset: have})
}

// ErrNotWaiting means a transfer is not an incoming offer waiting for the
// user.
var ErrNotWaiting = errors.New("transfer is not waiting for you")

// AcceptTransfer accepts an incoming offer that waits for the user (larger
// than the firewall's ask_above_mb). If the peer is connected it is asked
// for the data now; otherwise it will be when it offers the file again on
// reconnecting.
func (n *Network) AcceptTransfer(id string) (files.Transfer, error) {
	t, err := n.o.Files.Get(id)
	if err != nil {
		return files.Transfer{}, err
	}
	if t.Direction != files.Incoming || t.State != files.StateWaiting {
		return files.Transfer{}, fmt.Errorf("%w: transfer %s is %s %s; dpc transfers lists the ones waiting", ErrNotWaiting, id, t.Direction, t.State)
	}
	t.State = files.StateTransferring
	if err := n.o.Files.Put(t); err != nil {
		return files.Transfer{}, err
	}
	n.log.Info("the user accepted a file", "peer", t.Peer, "file", t.Name, "bytes", t.Size)
	n.publishTransfer(t, false)
	n.linkFor(t.Peer).send(dptp.CmdFileAccept, dptp.FileAccept{TransferID: t.ID, Offset: 0})
	return t, nil
}

// onFileChunk appends a chunk; the partial file's size says where we are.
func (n *Network) onFileChunk(s *session.Session, c dptp.FileChunk) error {
	t, err := n.o.Files.Get(c.TransferID)
	if err != nil || t.Peer != s.PeerID || t.Direction != files.Incoming || t.State.Done() {
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: c.TransferID, Reason: dptp.CancelError, Message: "no such transfer"})
	}
	fail := func() error {
		n.o.Files.Discard(t)
		n.finish(t, files.StateCancelled, "cannot write the file")
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "cannot write the file"})
	}
	f, have, err := n.o.Files.OpenPartial(t)
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
		n.publishTransfer(t, true)
		return nil
	}
	return n.completeIncoming(s, t)
}

// completeIncoming verifies the whole file and publishes it. The bytes and
// the final name are synced to disk before FILE_COMPLETE tells the sender
// it may forget the file.
func (n *Network) completeIncoming(s *session.Session, t files.Transfer) error {
	if err := n.o.Files.SyncPartial(t); err != nil {
		n.log.Error("syncing a received file", "error", err)
		n.finish(t, files.StateCancelled, "cannot save the file")
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "cannot save the file"})
	}
	sum, size, err := files.HashFile(n.o.Files.PartialPath(t))
	if err != nil || sum != t.SHA256 || size != t.Size {
		n.o.Files.Discard(t)
		n.finish(t, files.StateCancelled, dptp.CancelHashMismatch)
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelHashMismatch,
			Message: "the received bytes do not match the offered sha256"})
	}
	path, err := n.o.Files.Finalize(t)
	if err != nil {
		n.log.Error("saving a received file", "error", err)
		n.finish(t, files.StateCancelled, "cannot save the file")
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "cannot save the file"})
	}
	t.Path, t.Offset = path, t.Size
	n.finish(t, files.StateCompleted, "")
	n.log.Info("file received", "peer", s.PeerID, "path", path, "bytes", t.Size)
	return s.Send(dptp.CmdFileComplete, dptp.FileComplete{TransferID: t.ID, SHA256: sum})
}

// onFileAccept starts (or resumes) sending from the offset the peer asks.
func (n *Network) onFileAccept(s *session.Session, a dptp.FileAccept) error {
	t, err := n.o.Files.Get(a.TransferID)
	if err != nil || t.Peer != s.PeerID || t.Direction != files.Outgoing || t.State.Done() {
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: a.TransferID, Reason: dptp.CancelError, Message: "no such transfer"})
	}
	if a.Offset > t.Size {
		return s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "offset beyond the end"})
	}
	x := n.xfers()
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
	t.State, t.Offset = files.StateTransferring, a.Offset
	_ = n.o.Files.Put(t)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			x.mu.Lock()
			if x.sending[t.ID] == snd {
				delete(x.sending, t.ID)
			}
			x.mu.Unlock()
		}()
		n.sendChunks(snd, t)
	}()
	return nil
}

// sendChunks streams the file from t.Offset; the receiver's FILE_COMPLETE
// ends the transfer.
func (n *Network) sendChunks(snd *sender, t files.Transfer) {
	s := snd.s
	f, err := os.Open(t.Path)
	if err != nil {
		n.finish(t, files.StateCancelled, "source file unavailable: "+err.Error())
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
			n.finish(t, files.StateCancelled, "reading the source file failed")
			_ = s.Send(dptp.CmdFileCancel, dptp.FileCancel{TransferID: t.ID, Reason: dptp.CancelError, Message: "the sender cannot read the file"})
			return
		}
		if err := s.Send(dptp.CmdFileChunk, dptp.FileChunk{TransferID: t.ID, Offset: off, Data: buf[:k]}); err != nil {
			return // the session ended; the transfer resumes on the next one
		}
		off += int64(k)
		t.Offset = off
		n.publishTransfer(t, true)
	}
	// Done sending; a late FILE_ACCEPT starts a new sender.
	_ = n.o.Files.Put(t)
}

// onFileComplete: the receiver verified the file.
func (n *Network) onFileComplete(s *session.Session, c dptp.FileComplete) error {
	t, err := n.o.Files.Get(c.TransferID)
	if err != nil || t.Peer != s.PeerID || t.Direction != files.Outgoing || t.State.Done() {
		return nil
	}
	if c.SHA256 != t.SHA256 {
		n.finish(t, files.StateCancelled, dptp.CancelHashMismatch)
		return nil
	}
	t.Offset = t.Size
	n.finish(t, files.StateCompleted, "")
	return nil
}

// onFileCancel: the other side gave up or refused.
func (n *Network) onFileCancel(s *session.Session, c dptp.FileCancel) error {
	t, err := n.o.Files.Get(c.TransferID)
	if err != nil || t.Peer != s.PeerID || t.State.Done() {
		return nil
	}
	reason := c.Reason
	if c.Message != "" {
		reason += ": " + c.Message
	}
	if t.Direction == files.Incoming {
		n.o.Files.Discard(t)
	}
	n.log.Info("transfer cancelled by peer", "peer", s.PeerID, "file", t.Name, "reason", reason)
	n.finish(t, files.StateCancelled, reason)
	return nil
}
