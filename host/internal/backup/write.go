package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/dgraph-io/badger/v4"

	"github.com/dpc-go/dpc/host/internal/home"
)

// DefaultWorkFactor is log2 of scrypt's N for new backups (age's default:
// about a second on a laptop).
const DefaultWorkFactor = 18

// Phases of making a backup, as Progress reports them.
const (
	PhaseSnapshot = "snapshot" // the store snapshot is being written
	PhaseEncrypt  = "encrypt"  // the files and manifest are being written
	PhaseUpload   = "upload"   // the plugin is storing the last bytes
)

// Source is what a backup is made of.
type Source struct {
	Home home.Dir
	// DB is the node's open store; the snapshot is read at one version.
	DB      *badger.DB
	NodeID  string
	Version string
	// WorkFactor is log2 of scrypt's N; 0 means DefaultWorkFactor (tests
	// use less: they exercise the format, not the key derivation's cost).
	WorkFactor int
}

// CheckPassphrase refuses a passphrase shorter than MinPassphrase
// characters.
func CheckPassphrase(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPassphrase {
		return fmt.Errorf("%w: it has %d characters, a backup passphrase needs at least %d "+
			"(a few random words are easy to type and hard to guess)", ErrPassphraseTooShort, n, MinPassphrase)
	}
	return nil
}

// ObjectName is the name of a backup of nodeID made at t:
// dpc-backup-<first 8 hex of the node_id>-<UTC time>.age.
func ObjectName(nodeID string, t time.Time) string {
	short := strings.TrimPrefix(nodeID, "dpc-node-")
	if len(short) > 8 {
		short = short[:8]
	}
	return "dpc-backup-" + short + "-" + t.UTC().Format("20060102T150405Z") + ".age"
}

// CheckName refuses a name that ObjectName cannot have made.
func CheckName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("%w: %q (dpc backup list shows the backups' names)", ErrBadName, name)
	}
	return nil
}

// Write writes an encrypted backup of src to w. phase, when set, is told
// when the work moves to another phase.
func Write(ctx context.Context, w io.Writer, src Source, passphrase string, phase func(string)) (Manifest, error) {
	if err := CheckPassphrase(passphrase); err != nil {
		return Manifest{}, err
	}
	if phase == nil {
		phase = func(string) {}
	}
	rcpt, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup passphrase: %w", err)
	}
	wf := src.WorkFactor
	if wf == 0 {
		wf = DefaultWorkFactor
	}
	rcpt.SetWorkFactor(wf)
	enc, err := age.Encrypt(w, rcpt)
	if err != nil {
		return Manifest{}, fmt.Errorf("encrypting the backup: %w", err)
	}
	gz := gzip.NewWriter(enc)
	tw := tar.NewWriter(gz)
	m := Manifest{Format: FormatVersion, NodeID: src.NodeID, Created: time.Now().UTC().Truncate(time.Second), Version: src.Version}
	now := m.Created

	phase(PhaseSnapshot)
	cw := &chunkWriter{ctx: ctx, tw: tw, now: now, buf: make([]byte, 0, storeChunk)}
	if _, err := src.DB.Backup(cw, 0); err != nil {
		return Manifest{}, fmt.Errorf("snapshot of the store: %w", err)
	}
	if err := cw.flush(); err != nil {
		return Manifest{}, err
	}
	m.Members = append(m.Members, cw.members...)

	phase(PhaseEncrypt)
	for _, f := range files {
		data, err := os.ReadFile(f.path(src.Home))
		if errors.Is(err, os.ErrNotExist) && !f.required {
			continue
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("reading %s for the backup: %w", f.name, err)
		}
		mem, err := writeMember(tw, f.name, f.mode, now, data)
		if err != nil {
			return Manifest{}, err
		}
		m.Members = append(m.Members, mem)
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("encoding the manifest: %w", err)
	}
	if _, err := writeMember(tw, manifestName, 0o600, now, raw); err != nil {
		return Manifest{}, err
	}
	for _, c := range []io.Closer{tw, gz, enc} {
		if err := c.Close(); err != nil {
			return Manifest{}, fmt.Errorf("finishing the backup: %w", err)
		}
	}
	return m, nil
}

func writeMember(tw *tar.Writer, name string, mode int64, now time.Time, data []byte) (Member, error) {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: mode, ModTime: now, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return Member{}, fmt.Errorf("writing %s into the backup: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return Member{}, fmt.Errorf("writing %s into the backup: %w", name, err)
	}
	sum := sha256.Sum256(data)
	return Member{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// chunkWriter cuts the store snapshot into members of storeChunk bytes.
type chunkWriter struct {
	ctx     context.Context
	tw      *tar.Writer
	now     time.Time
	buf     []byte
	members []Member
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), storeChunk-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == storeChunk {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// flush writes the buffered bytes as the next chunk; the last chunk may be
// short, and an empty store still gets one (empty) chunk.
func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 && len(c.members) > 0 {
		return nil
	}
	if len(c.members) >= maxChunks {
		return fmt.Errorf("the store snapshot needs more than %d chunks", maxChunks)
	}
	mem, err := writeMember(c.tw, chunkName(len(c.members)), 0o600, c.now, c.buf)
	if err != nil {
		return err
	}
	c.members = append(c.members, mem)
	c.buf = c.buf[:0]
	return nil
}
