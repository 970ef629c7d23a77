package files

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dpc-go/dpc/host/internal/store"
)

// Direction says who sends.
type Direction string

// Directions.
const (
	Outgoing Direction = "out"
	Incoming Direction = "in"
)

// State is where a transfer is.
type State string

// Transfer states.
const (
	// StateOffered: offered, not accepted yet (or waiting for the peer).
	StateOffered State = "offered"
	// StateWaiting: an incoming offer larger than the firewall's
	// ask_above_mb, waiting for the user (dpc transfers accept ID); the
	// sender hears nothing until then.
	StateWaiting State = "waiting"
	// StateTransferring: bytes are moving (or will resume on reconnect).
	StateTransferring State = "transferring"
	StateCompleted    State = "completed"
	StateCancelled    State = "cancelled"
)

// Done tells whether the transfer is over.
func (s State) Done() bool { return s == StateCompleted || s == StateCancelled }

// Transfer is one file on its way in or out.
type Transfer struct {
	ID        string    `json:"id"`
	Peer      string    `json:"peer"`
	Direction Direction `json:"direction"`
	Name      string    `json:"name"`
	// Path is the source (outgoing) or, once completed, the received file.
	Path     string    `json:"path,omitempty"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	MimeType string    `json:"mime_type"`
	Offset   int64     `json:"offset"`
	State    State     `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// ErrNotFound means no such transfer.
var ErrNotFound = errors.New("transfer not found")

// Store keeps transfer records and received files.
type Store struct {
	s   *store.Store
	dir string
}

// New returns a Store whose received files go under dir.
func New(s *store.Store, dir string) *Store { return &Store{s: s, dir: dir} }

func key(id string) []byte { return []byte("xfer/" + id) }

// Put writes the record (Updated is set here).
func (fs *Store) Put(t Transfer) error {
	t.Updated = time.Now().UTC()
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return fs.s.Set(key(t.ID), b)
}

// Get reads a record.
func (fs *Store) Get(id string) (Transfer, error) {
	b, err := fs.s.Get(key(id))
	if errors.Is(err, store.ErrNotFound) {
		return Transfer{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Transfer{}, err
	}
	var t Transfer
	return t, json.Unmarshal(b, &t)
}

// List returns every transfer, newest first.
func (fs *Store) List() ([]Transfer, error) {
	var out []Transfer
	err := fs.s.Iterate([]byte("xfer/"), func(_, v []byte) error {
		var t Transfer
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, err
}

// peerDir is where files from peer land.
func (fs *Store) peerDir(peer string) string { return filepath.Join(fs.dir, peer) }

// PartialPath is where the bytes of an incoming transfer collect.
func (fs *Store) PartialPath(t Transfer) string {
	return filepath.Join(fs.peerDir(t.Peer), ".partial-"+t.ID)
}

// OpenPartial opens (creating) the partial file of t and returns it with
// the number of bytes already received.
func (fs *Store) OpenPartial(t Transfer) (*os.File, int64, error) {
	if err := os.MkdirAll(fs.peerDir(t.Peer), 0o700); err != nil {
		return nil, 0, err
	}
	f, err := os.OpenFile(fs.PartialPath(t), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, 0, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}

// Finalize moves a verified partial file to a free name in the peer's
// directory and returns that path.
func (fs *Store) Finalize(t Transfer) (string, error) {
	ext := filepath.Ext(t.Name)
	stem := strings.TrimSuffix(t.Name, ext)
	for i := 0; i < 1000; i++ {
		name := t.Name
		if i > 0 {
			name = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		dst := filepath.Join(fs.peerDir(t.Peer), name)
		// Link, not rename, so an existing file is never replaced.
		if err := os.Link(fs.PartialPath(t), dst); err == nil {
			return dst, os.Remove(fs.PartialPath(t))
		} else if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", t.Name, fs.peerDir(t.Peer))
}

// Discard removes the partial file of t.
func (fs *Store) Discard(t Transfer) {
	_ = os.Remove(fs.PartialPath(t))
}

// HashFile returns the SHA-256 (hex) and size of the file at path.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// DetectMime guesses a file's type from its extension, else its content.
func DetectMime(path string) string {
	if t := mime.TypeByExtension(filepath.Ext(path)); t != "" {
		return strings.SplitN(t, ";", 2)[0]
	}
	f, err := os.Open(path)
	if err != nil {
		return "application/octet-stream"
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := f.Read(buf)
	return strings.SplitN(http.DetectContentType(buf[:n]), ";", 2)[0]
}
