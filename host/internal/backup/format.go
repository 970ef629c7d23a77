package backup

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/identity"
)

// FormatVersion is the version of the archive layout this code writes and
// reads.
const FormatVersion = 1

// MinPassphrase is the least number of characters of a passphrase.
const MinPassphrase = 12

// manifestName is the archive's last member.
const manifestName = "manifest.json"

// storeChunk is the size of one store snapshot member: the most of the
// snapshot held in memory at once while writing.
const storeChunk = 4 << 20

// maxFileMember bounds a file member (keys, configs, the personal context)
// and the manifest, so a crafted archive cannot make a reader buffer or
// write gigabytes where kilobytes belong.
const maxFileMember = 16 << 20

// maxChunks bounds the number of store chunks (4 TiB of snapshot).
const maxChunks = 1_000_000

// fileMember is a file of the data directory a backup carries.
type fileMember struct {
	name string
	path func(home.Dir) string
	mode int64
	// required members must be in every backup (a node cannot run
	// without them).
	required bool
}

// files are the data directory's files in a backup, in archive order;
// nothing else of the directory (logs, api.token, sockets, received files,
// plugin state) is ever included.
var files = []fileMember{
	{identity.NodeKeyFile, func(d home.Dir) string { return filepath.Join(d.Identity(), identity.NodeKeyFile) }, 0o600, true},
	{identity.NodeCertFile, func(d home.Dir) string { return filepath.Join(d.Identity(), identity.NodeCertFile) }, 0o644, true},
	{identity.EnvelopeKeyFile, func(d home.Dir) string { return filepath.Join(d.Identity(), identity.EnvelopeKeyFile) }, 0o600, true},
	{identity.EnvelopeSigFile, func(d home.Dir) string { return filepath.Join(d.Identity(), identity.EnvelopeSigFile) }, 0o644, true},
	{"dpc.hcl", home.Dir.Config, 0o600, true},
	{"dpc.lock.hcl", home.Dir.Lock, 0o600, false},
	{"firewall.hcl", home.Dir.Firewall, 0o600, false},
	{"personal.json", home.Dir.Personal, 0o600, false},
}

func fileByName(name string) (fileMember, bool) {
	for _, f := range files {
		if f.name == name {
			return f, true
		}
	}
	return fileMember{}, false
}

// chunkName is the name of store snapshot chunk i.
func chunkName(i int) string { return fmt.Sprintf("store.%06d", i) }

var chunkRe = regexp.MustCompile(`^store\.([0-9]{6})$`)

// Manifest describes a backup; it is the archive's last member.
type Manifest struct {
	Format  int       `json:"format"`
	NodeID  string    `json:"node_id"`
	Created time.Time `json:"created"`
	Version string    `json:"dpc_version"`
	Members []Member  `json:"members"`
}

// Member is one archive member as the manifest lists it.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Bytes is the total size of the members.
func (m Manifest) Bytes() int64 {
	var n int64
	for _, mem := range m.Members {
		n += mem.Size
	}
	return n
}

// memberKind says what a member read from an archive is.
type memberKind int

const (
	kindFile memberKind = iota
	kindChunk
)

// readArchive reads a plaintext archive (the tar stream), calling fn with
// the body of every member but the manifest, and checks each member
// against the manifest at the end. It accepts only the names the format
// defines, regular files, each at most once, chunks in order, and the
// manifest last. fn may leave part of body unread.
func readArchive(r io.Reader, fn func(name string, kind memberKind, body io.Reader) error) (Manifest, error) {
	tr := tar.NewReader(r)
	var seen []Member
	names := map[string]bool{}
	chunks := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return Manifest{}, fmt.Errorf("%w: the archive ends without its manifest", ErrCorrupt)
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("%w: reading the archive: %w", ErrCorrupt, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return Manifest{}, fmt.Errorf("%w: %q is not a regular file (tar type %q)", ErrBadMember, hdr.Name, hdr.Typeflag)
		}
		if hdr.Size < 0 {
			return Manifest{}, fmt.Errorf("%w: %q has a negative size", ErrBadMember, hdr.Name)
		}
		name := hdr.Name
		if names[name] {
			return Manifest{}, fmt.Errorf("%w: %q appears twice", ErrBadMember, name)
		}
		names[name] = true
		if name == manifestName {
			if hdr.Size > maxFileMember {
				return Manifest{}, fmt.Errorf("%w: the manifest has %d bytes", ErrBadMember, hdr.Size)
			}
			raw, err := io.ReadAll(tr)
			if err != nil {
				return Manifest{}, fmt.Errorf("%w: reading the manifest: %w", ErrCorrupt, err)
			}
			if _, err := tr.Next(); !errors.Is(err, io.EOF) {
				return Manifest{}, fmt.Errorf("%w: a member follows the manifest", ErrBadMember)
			}
			return checkManifest(raw, seen)
		}
		kind := kindFile
		if m := chunkRe.FindStringSubmatch(name); m != nil {
			i, _ := strconv.Atoi(m[1])
			if i != chunks || i >= maxChunks {
				return Manifest{}, fmt.Errorf("%w: store chunk %q out of order (expected %s)", ErrBadMember, name, chunkName(chunks))
			}
			chunks++
			kind = kindChunk
		} else if _, ok := fileByName(name); !ok {
			return Manifest{}, fmt.Errorf("%w: %q", ErrBadMember, name)
		} else if hdr.Size > maxFileMember {
			return Manifest{}, fmt.Errorf("%w: %q has %d bytes, more than a file of a data directory may", ErrBadMember, name, hdr.Size)
		}
		h := sha256.New()
		body := io.TeeReader(tr, h)
		if err := fn(name, kind, body); err != nil {
			return Manifest{}, err
		}
		// What fn left unread is hashed too.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return Manifest{}, fmt.Errorf("%w: reading %q: %w", ErrCorrupt, name, err)
		}
		seen = append(seen, Member{Name: name, Size: hdr.Size, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
}

// checkManifest parses raw and checks that it lists exactly the members
// seen, with their sizes and hashes.
func checkManifest(raw []byte, seen []Member) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: the manifest is not valid JSON: %w", ErrCorrupt, err)
	}
	if m.Format != FormatVersion {
		return Manifest{}, fmt.Errorf("%w: backup format %d; this dpc reads format %d (a newer dpc made it?)", ErrCorrupt, m.Format, FormatVersion)
	}
	if m.NodeID == "" {
		return Manifest{}, fmt.Errorf("%w: the manifest names no node_id", ErrCorrupt)
	}
	if len(m.Members) != len(seen) {
		return Manifest{}, fmt.Errorf("%w: the manifest lists %d members, the archive holds %d", ErrCorrupt, len(m.Members), len(seen))
	}
	for i, want := range m.Members {
		if got := seen[i]; got != want {
			return Manifest{}, fmt.Errorf("%w: member %q (%d bytes, sha256 %s) does not match the manifest's %q (%d bytes, sha256 %s)",
				ErrCorrupt, got.Name, got.Size, got.SHA256, want.Name, want.Size, want.SHA256)
		}
	}
	for _, f := range files {
		if f.required && !hasMember(seen, f.name) {
			return Manifest{}, fmt.Errorf("%w: the backup lacks %s", ErrCorrupt, f.name)
		}
	}
	if !hasMember(seen, chunkName(0)) {
		return Manifest{}, fmt.Errorf("%w: the backup lacks the store snapshot", ErrCorrupt)
	}
	return m, nil
}

func hasMember(ms []Member, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}
