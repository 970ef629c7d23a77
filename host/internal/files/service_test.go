package files_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// contactSession is a raw DPTP session to tn from a peer tn has as a
// contact, so that the default firewall lets it send files.
func contactSession(t *testing.T, tn *nettest.Node) *session.Session {
	t.Helper()
	s, id := nettest.RawSession(t, tn)
	if _, err := tn.Peers.Update(id.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
		t.Fatal(err)
	}
	return s
}

func offer(id, name string, size int64) dptp.FileOffer {
	return dptp.FileOffer{TransferID: id, Filename: name, SizeBytes: size, SHA256: strings.Repeat("a", 64),
		MIMEType: "application/octet-stream", ChunkSize: 64 << 10}
}

// TestFileNameBidiOverrideOfferCancelled: an offer of a file whose name
// holds U+202E, is a Windows device name or ends in a dot is answered
// FILE_CANCEL invalid_name and nothing is recorded. Before, it was
// accepted and saved under that name.
func TestFileNameBidiOverrideOfferCancelled(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	s := contactSession(t, b)
	tests := []struct{ name, filename string }{
		{"right-to-left override", "invoice\u202egpj.exe"},
		{"Windows device name", "NUL.txt"},
		{"trailing dot", "notes.txt."},
	}
	for i, tc := range tests {
		tid := fmt.Sprintf("bad%d", i)
		if err := s.Send(dptp.CmdFileOffer, offer(tid, tc.filename, 10)); err != nil {
			t.Fatal(err)
		}
		c, err := dptp.Decode[dptp.FileCancel](nettest.Next(t, s, dptp.CmdFileCancel))
		if err != nil || c.TransferID != tid || c.Reason != dptp.CancelInvalidName {
			t.Errorf("%s: want FILE_CANCEL %s for %s, got %+v (%v)", tc.name, dptp.CancelInvalidName, tid, c, err)
		}
		if _, err := b.Files.Get(tid); !errors.Is(err, files.ErrNotFound) {
			t.Errorf("%s: want no transfer recorded, got %v", tc.name, err)
		}
	}
	// The sender refuses such a name before offering it.
	src := filepath.Join(t.TempDir(), "CON.txt")
	if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Xfers.SendFile("dpc-node-0123456789abcdef0123456789abcdef", src); !errors.Is(err, files.ErrInvalidFile) || !errors.Is(err, files.ErrUnsafeName) {
		t.Errorf("SendFile of CON.txt: want files.ErrInvalidFile wrapping ErrUnsafeName, got %v", err)
	}
}

// TestLargeFileOfferWaitsForUser: an offer above ask_above_mb (100 MiB by
// default) is not answered until the user accepts it; a repeated offer
// changes nothing; AcceptTransfer then asks for the data from offset 0.
// Before, every offer within max_size_mb (unlimited by default) was
// accepted at once.
func TestLargeFileOfferWaitsForUser(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	s := contactSession(t, b)
	const big = 100<<20 + 1
	// Frames are handled in order: the ACK of a message sent after the
	// offers shows they were handled, with no FILE_ACCEPT before it.
	for range 2 {
		if err := s.Send(dptp.CmdFileOffer, offer("big1", "disk.img", big)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Send(dptp.CmdSendText, dptp.SendText{MessageID: "m1", Text: "hi", SentAt: dptp.Now()}); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := s.Read()
		if err != nil {
			t.Fatal(err)
		}
		if f.Command == dptp.CmdFileAccept || f.Command == dptp.CmdFileCancel {
			t.Fatalf("want the offer left unanswered, got %s %s", f.Command, f.Payload)
		}
		if f.Command == dptp.CmdAck {
			break
		}
	}
	tr, err := b.Files.Get("big1")
	if err != nil || tr.State != files.StateWaiting || tr.Size != big {
		t.Fatalf("want the transfer waiting for the user, got %+v (%v)", tr, err)
	}
	if _, err := b.Xfers.AcceptTransfer("nope"); !errors.Is(err, files.ErrNotFound) {
		t.Errorf("accepting an unknown transfer: want ErrNotFound, got %v", err)
	}
	if tr, err = b.Xfers.AcceptTransfer("big1"); err != nil || tr.State != files.StateTransferring {
		t.Fatalf("AcceptTransfer: want transferring, got %+v (%v)", tr, err)
	}
	a, err := dptp.Decode[dptp.FileAccept](nettest.Next(t, s, dptp.CmdFileAccept))
	if err != nil || a.TransferID != "big1" || a.Offset != 0 {
		t.Errorf("want FILE_ACCEPT big1 from 0, got %+v (%v)", a, err)
	}
	if _, err := b.Xfers.AcceptTransfer("big1"); !errors.Is(err, files.ErrNotWaiting) {
		t.Errorf("accepting twice: want files.ErrNotWaiting, got %v", err)
	}
	// A small offer is still accepted at once.
	if err := s.Send(dptp.CmdFileOffer, offer("small1", "note.txt", 10)); err != nil {
		t.Fatal(err)
	}
	if a, err := dptp.Decode[dptp.FileAccept](nettest.Next(t, s, dptp.CmdFileAccept)); err != nil || a.TransferID != "small1" {
		t.Errorf("want FILE_ACCEPT small1, got %+v (%v)", a, err)
	}
}
