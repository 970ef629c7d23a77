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

// PartialMaxAge is how long a partial file may go without receiving a byte
// before ExpirePartials removes it and cancels its transfer.
const PartialMaxAge = 7 * 24 * time.Hour

// Store keeps transfer records and received files.
type Store struct {
	s   *store.Store
	dir string
	// fsync makes a file's (or a directory's) contents durable; tests
	// replace it to see what is synced.
	fsync func(*os.File) error
}

// New returns a Store whose received files go under dir.
func New(s *store.Store, dir string) *Store {
	return &Store{s: s, dir: dir, fsync: (*os.File).Sync}
}

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

// SyncPartial makes the bytes received for t durable, so that a
// FILE_COMPLETE sent after it never covers data a crash could lose.
func (fs *Store) SyncPartial(t Transfer) error {
	return fs.syncPath(fs.PartialPath(t))
}

// syncPath fsyncs the file or directory at path.
func (fs *Store) syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = fs.fsync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Finalize moves a verified partial file to a free name in the peer's
// directory and returns that path. The file's name is checked again
// (CheckName), and the directory is synced, so the new name survives a
// crash; call SyncPartial first for the contents.
func (fs *Store) Finalize(t Transfer) (string, error) {
	if err := CheckName(t.Name); err != nil {
		return "", err
	}
	ext := filepath.Ext(t.Name)
	stem := strings.TrimSuffix(t.Name, ext)
	for i := 0; i < 1000; i++ {
		name := t.Name
		if i > 0 {
			name = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		dst := filepath.Join(fs.peerDir(t.Peer), name)
		// Link, not rename, so an existing file is never replaced. The
		// link shares the synced partial file's inode, so only the
		// directory entry is left to sync.
		if err := os.Link(fs.PartialPath(t), dst); err == nil {
			if err := os.Remove(fs.PartialPath(t)); err != nil {
				return "", err
			}
			return dst, fs.syncPath(fs.peerDir(t.Peer))
		} else if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", t.Name, fs.peerDir(t.Peer))
}

// ExpirePartials removes the partial files under the store's directory that
// received nothing for PartialMaxAge before now, and cancels their
// unfinished incoming transfers, which it returns. A partial file with no
// transfer left is removed too. A node runs it at start and then
// periodically, so a peer that never finishes cannot hold disk space for
// ever.
func (fs *Store) ExpirePartials(now time.Time) ([]Transfer, error) {
	paths, err := filepath.Glob(filepath.Join(fs.dir, "*", ".partial-*"))
	if err != nil {
		return nil, err
	}
	var expired []Transfer
	var errs []error
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || now.Sub(fi.ModTime()) < PartialMaxAge {
			continue
		}
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		t, err := fs.Get(strings.TrimPrefix(filepath.Base(p), ".partial-"))
		if err != nil || t.Direction != Incoming || t.State.Done() || fs.PartialPath(t) != p {
			continue
		}
		t.State = StateCancelled
		t.Reason = fmt.Sprintf("expired: nothing received for %s", PartialMaxAge)
		if err := fs.Put(t); err != nil {
			errs = append(errs, err)
			continue
		}
		expired = append(expired, t)
	}
	return expired, errors.Join(errs...)
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
