package backup

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"filippo.io/age"
	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/store"
)

var nameRe = regexp.MustCompile(`^dpc-backup-[0-9a-z]{1,8}-[0-9]{8}T[0-9]{6}Z\.age$`)

// maxWorkFactor is the highest scrypt work factor a restore accepts, so a
// crafted object cannot make it compute for hours (age's default limit).
const maxWorkFactor = 22

// read decrypts and decompresses the object r and reads its archive (see
// readArchive), then reads the encrypted stream to its end, which is where
// age proves nothing was cut off.
func read(r io.Reader, passphrase string, fn func(name string, kind memberKind, body io.Reader) error) (Manifest, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup passphrase: %w", err)
	}
	id.SetMaxWorkFactor(maxWorkFactor)
	plain, err := age.Decrypt(r, id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return Manifest{}, fmt.Errorf("%w: this passphrase does not open the backup (or its header was damaged)", ErrWrongPassphrase)
		}
		return Manifest{}, fmt.Errorf("%w: not an encrypted dpc backup: %w", ErrCorrupt, err)
	}
	gz, err := gzip.NewReader(plain)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: decompressing: %w", ErrCorrupt, err)
	}
	m, err := readArchive(gz, fn)
	if err != nil {
		return Manifest{}, err
	}
	// The gzip trailer's CRC, then age's last chunk: both are checked only
	// when read.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return Manifest{}, fmt.Errorf("%w: after the manifest: %w", ErrCorrupt, err)
	}
	if n, err := io.Copy(io.Discard, plain); err != nil || n != 0 {
		return Manifest{}, fmt.Errorf("%w: %d stray bytes after the archive (%v)", ErrCorrupt, n, err)
	}
	return m, nil
}

// Verify decrypts the object r and checks every member against the
// manifest, writing nothing.
func Verify(r io.Reader, passphrase string) (Manifest, error) {
	return read(r, passphrase, func(string, memberKind, io.Reader) error { return nil })
}

// snapshotFile is where a restore keeps the store snapshot until it is
// verified and loaded.
const snapshotFile = "restore-snapshot.badger"

// RestoreOptions configures Restore.
type RestoreOptions struct {
	// Target is the new data directory.
	Target home.Dir
	// Force replaces a non-empty Target: the old directory is moved aside
	// (to Target + ".replaced-<UTC time>"), never deleted.
	Force  bool
	Logger hclog.Logger
}

// Restored says what Restore did.
type Restored struct {
	Manifest Manifest
	// MovedAside is where a replaced Target went ("" if it was empty).
	MovedAside string
}

// Restore decrypts the object r into the new data directory o.Target. It
// writes into a temporary directory beside the target and renames it into
// place only once every member matched the manifest and the store is
// loaded; on any error nothing is left behind.
func Restore(r io.Reader, passphrase string, o RestoreOptions) (Restored, error) {
	target := o.Target.String()
	empty, err := checkTarget(target, o.Force)
	if err != nil {
		return Restored{}, err
	}
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return Restored{}, fmt.Errorf("creating %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(target)+".restore-*")
	if err != nil {
		return Restored{}, fmt.Errorf("creating a temporary directory beside %s: %w", target, err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = os.RemoveAll(tmp)
		}
	}()
	dir := home.Dir(tmp)
	if err := os.Mkdir(dir.Identity(), 0o700); err != nil {
		return Restored{}, fmt.Errorf("restore: %w", err)
	}
	snapPath := filepath.Join(tmp, snapshotFile)
	snap, err := os.OpenFile(snapPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Restored{}, fmt.Errorf("restore: %w", err)
	}
	defer snap.Close()
	m, err := read(r, passphrase, func(name string, kind memberKind, body io.Reader) error {
		if kind == kindChunk {
			if _, err := io.Copy(snap, body); err != nil {
				return fmt.Errorf("restore: writing the store snapshot: %w", err)
			}
			return nil
		}
		f, _ := fileByName(name)
		return writeNew(f.path(dir), body, os.FileMode(f.mode))
	})
	if err != nil {
		return Restored{}, err
	}
	if err := snap.Close(); err != nil {
		return Restored{}, fmt.Errorf("restore: writing the store snapshot: %w", err)
	}
	if err := loadStore(dir, snapPath, o.Logger); err != nil {
		return Restored{}, err
	}
	if err := os.Remove(snapPath); err != nil {
		return Restored{}, fmt.Errorf("restore: %w", err)
	}
	// The identity must load and be the manifest's node.
	id, err := identity.Load(dir.Identity())
	if err != nil {
		return Restored{}, fmt.Errorf("%w: the restored identity does not load: %w", ErrCorrupt, err)
	}
	if id.NodeID != m.NodeID {
		return Restored{}, fmt.Errorf("%w: the keys are of %s, the manifest names %s", ErrCorrupt, id.NodeID, m.NodeID)
	}
	out := Restored{Manifest: m}
	switch {
	case empty:
		// os.Remove fails on a directory someone filled meanwhile.
		if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Restored{}, fmt.Errorf("restore: %w", err)
		}
	default:
		out.MovedAside = target + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(target, out.MovedAside); err != nil {
			return Restored{}, fmt.Errorf("restore: moving the old %s aside: %w", target, err)
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return Restored{}, fmt.Errorf("restore: moving the restored directory into place: %w", err)
	}
	keep = true
	return out, nil
}

// checkTarget says whether target is empty or missing, and refuses a
// non-empty one unless force, and always one a running node uses.
func checkTarget(target string, force bool) (empty bool, err error) {
	ents, err := os.ReadDir(target)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("restore target %s: %w", target, err)
	}
	if len(ents) == 0 {
		return true, nil
	}
	if !force {
		return false, fmt.Errorf("%w: %s has %d entries; restore into a new directory, or add --force to move it aside (to %s.replaced-<time>)",
			ErrTargetNotEmpty, target, len(ents), target)
	}
	db := home.Dir(target).DB()
	if _, err := os.Stat(db); err == nil {
		// Opening the store takes badger's directory lock: it fails while
		// a node runs there.
		st, err := store.Open(store.Options{Dir: db})
		if errors.Is(err, store.ErrLocked) {
			return false, fmt.Errorf("%w: %s; stop that node first (or restore into a new directory)", ErrTargetInUse, target)
		}
		if err == nil {
			_ = st.Close()
		}
	}
	return false, nil
}

// writeNew writes body to a new file at path.
func writeNew(path string, body io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := io.Copy(f, body); err != nil {
		_ = f.Close()
		return fmt.Errorf("restore: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("restore: writing %s: %w", path, err)
	}
	return nil
}

// loadStore creates the store in dir and loads the snapshot into it.
func loadStore(dir home.Dir, snapPath string, log hclog.Logger) error {
	st, err := store.Open(store.Options{Dir: dir.DB(), Logger: log})
	if err != nil {
		return fmt.Errorf("restore: creating the store: %w", err)
	}
	f, err := os.Open(snapPath)
	if err != nil {
		_ = st.Close()
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	if err := st.DB().Load(f, 256); err != nil {
		_ = st.Close()
		return fmt.Errorf("%w: loading the store snapshot: %w", ErrCorrupt, err)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}
