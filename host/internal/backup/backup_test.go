package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/dpc-go/dpc/host/internal/fixtureplugin"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
)

const pass = "correct horse battery staple"

// testWorkFactor makes scrypt cheap: the tests exercise the format, not
// the key derivation's cost.
const testWorkFactor = 10

// testNode is a data directory with an identity, config files and an open
// store holding some keys.
type testNode struct {
	dir  home.Dir
	id   *identity.Identity
	st   *store.Store
	keys map[string]string
}

func newTestNode(t *testing.T, nKeys, valueSize int) *testNode {
	t.Helper()
	dir := home.Dir(filepath.Join(t.TempDir(), "home"))
	if err := os.MkdirAll(dir.String(), 0o700); err != nil {
		t.Fatal(err)
	}
	id, err := identity.Create(dir.Identity(), identity.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	for path, body := range map[string]string{
		dir.Config(): "node { name = \"alice\" }\n", dir.Lock(): "# lock\n",
		dir.Firewall(): "# firewall\n", dir.Personal(): `{"profile":{}}`,
		// Never in a backup:
		dir.APIToken(): "secret-token", filepath.Join(dir.String(), "dpc.log"): "log line",
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(store.Options{Dir: dir.DB()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	n := &testNode{dir: dir, id: id, st: st, keys: map[string]string{}}
	for i := range nKeys {
		k, v := fmt.Sprintf("msg/%06d", i), strings.Repeat(fmt.Sprintf("%06d,", i), valueSize/7+1)[:valueSize]
		if err := st.Set([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
		n.keys[k] = v
	}
	return n
}

func (n *testNode) source() Source {
	return Source{Home: n.dir, DB: n.st.DB(), NodeID: n.id.NodeID, Version: "test", WorkFactor: testWorkFactor}
}

func (n *testNode) backup(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, n.source(), pass, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripRestoresStoreAndFiles(t *testing.T) {
	// 1500 values of 4 KiB: a snapshot of several chunks.
	n := newTestNode(t, 1500, 4<<10)
	obj := n.backup(t)
	if bytes.Contains(obj, []byte("alice")) || bytes.Contains(obj, []byte("msg/000001")) {
		t.Fatal("plaintext in the backup object")
	}
	target := home.Dir(filepath.Join(t.TempDir(), "restored"))
	res, err := Restore(bytes.NewReader(obj), pass, RestoreOptions{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.NodeID != n.id.NodeID {
		t.Fatalf("manifest node_id %s, want %s", res.Manifest.NodeID, n.id.NodeID)
	}
	if chunks := countChunks(res.Manifest); chunks < 2 {
		t.Fatalf("want a snapshot of several chunks, got %d", chunks)
	}
	id, err := identity.Load(target.Identity())
	if err != nil || id.NodeID != n.id.NodeID {
		t.Fatalf("restored identity %v, %v; want %s", id, err, n.id.NodeID)
	}
	for _, f := range files {
		want, _ := os.ReadFile(f.path(n.dir))
		got, err := os.ReadFile(f.path(target))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %q, %v; want %q", f.name, got, err, want)
		}
	}
	for _, never := range []string{target.APIToken(), filepath.Join(target.String(), "dpc.log"), filepath.Join(target.String(), snapshotFile)} {
		if _, err := os.Stat(never); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s restored (%v); it must never be in a backup", never, err)
		}
	}
	st, err := store.Open(store.Options{Dir: target.DB()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[string]string{}
	if err := st.Iterate([]byte("msg/"), func(k, v []byte) error { got[string(k)] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(n.keys) {
		t.Fatalf("restored %d keys, want %d", len(got), len(n.keys))
	}
	for k, v := range n.keys {
		if got[k] != v {
			t.Fatalf("key %s differs after restore", k)
		}
	}
	assertOnlyEntries(t, filepath.Dir(target.String()), "restored")
}

func countChunks(m Manifest) int {
	n := 0
	for _, mem := range m.Members {
		if chunkRe.MatchString(mem.Name) {
			n++
		}
	}
	return n
}

// assertOnlyEntries fails unless dir holds exactly names (no temporary
// directory left behind).
func assertOnlyEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
}

func TestRestoreOfABadObjectWritesNothing(t *testing.T) {
	n := newTestNode(t, 50, 100)
	obj := n.backup(t)
	flip := func(at int) []byte {
		b := bytes.Clone(obj)
		b[at] ^= 0x01
		return b
	}
	for name, tc := range map[string]struct {
		obj  []byte
		pass string
		want error
	}{
		"wrong passphrase":           {obj, "another long passphrase", ErrWrongPassphrase},
		"tampered ciphertext middle": {flip(len(obj) / 2), pass, ErrCorrupt},
		"tampered ciphertext end":    {flip(len(obj) - 3), pass, ErrCorrupt},
		"tampered header MAC":        {flip(bytes.Index(obj, []byte("\n--- ")) + 6), pass, ErrCorrupt},
		"truncated":                  {obj[:len(obj)-100], pass, ErrCorrupt},
		"not a backup":               {[]byte("hello, this is not an age file\n"), pass, ErrCorrupt},
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			target := home.Dir(filepath.Join(parent, "restored"))
			_, err := Restore(bytes.NewReader(tc.obj), tc.pass, RestoreOptions{Target: target})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			assertOnlyEntries(t, parent)
			if _, err := Verify(bytes.NewReader(tc.obj), tc.pass); !errors.Is(err, tc.want) {
				t.Fatalf("verify: got %v, want %v", err, tc.want)
			}
		})
	}
}

// member is one entry of a crafted archive.
type member struct {
	name string
	typ  byte
	body string
}

// craft builds a plaintext archive of members followed by a manifest that
// lists them (as the writer would), with edit applied to the manifest.
func craft(t testing.TB, members []member, edit func(*Manifest)) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	m := Manifest{Format: FormatVersion, NodeID: "dpc-node-0123456789abcdef0123456789abcdef", Created: time.Unix(0, 0).UTC()}
	for _, mem := range members {
		typ := mem.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Typeflag: typ, Name: mem.name, Mode: 0o600, Size: int64(len(mem.body))}
		if typ != tar.TypeReg {
			hdr.Size, hdr.Linkname = 0, "/etc/passwd"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			_, _ = tw.Write([]byte(mem.body))
		}
		sum := sha256.Sum256([]byte(mem.body))
		m.Members = append(m.Members, Member{Name: mem.name, Size: int64(len(mem.body)), SHA256: hex.EncodeToString(sum[:])})
	}
	if edit != nil {
		edit(&m)
	}
	raw, _ := json.Marshal(m)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: manifestName, Mode: 0o600, Size: int64(len(raw))})
	_, _ = tw.Write(raw)
	_ = tw.Close()
	return buf.Bytes()
}

// seal compresses and encrypts a plaintext archive as Write does.
func seal(t testing.TB, archive []byte) []byte {
	var out bytes.Buffer
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(testWorkFactor)
	enc, _ := age.Encrypt(&out, r)
	gz := gzip.NewWriter(enc)
	_, _ = gz.Write(archive)
	_ = gz.Close()
	_ = enc.Close()
	return out.Bytes()
}

// validMembers are the members of a minimal well-formed archive.
func validMembers() []member {
	return []member{
		{name: "store.000000", body: ""}, {name: "node.key", body: "k"}, {name: "node.crt", body: "c"},
		{name: "envelope.key", body: "e"}, {name: "envelope.sig", body: "s"}, {name: "dpc.hcl", body: "h"},
	}
}

func TestCraftedArchivesAreRefused(t *testing.T) {
	with := func(extra ...member) []member { return append(validMembers(), extra...) }
	for name, tc := range map[string]struct {
		members []member
		edit    func(*Manifest)
		append  []byte
		want    error
	}{
		"path traversal ../":     {members: with(member{name: "../evil", body: "x"}), want: ErrBadMember},
		"nested path":            {members: with(member{name: "identity/node.key", body: "x"}), want: ErrBadMember},
		"absolute path":          {members: with(member{name: "/etc/cron.d/x", body: "x"}), want: ErrBadMember},
		"unknown member":         {members: with(member{name: "api.token", body: "x"}), want: ErrBadMember},
		"symlink":                {members: with(member{name: "firewall.hcl", typ: tar.TypeSymlink}), want: ErrBadMember},
		"hard link":              {members: with(member{name: "firewall.hcl", typ: tar.TypeLink}), want: ErrBadMember},
		"directory":              {members: with(member{name: "personal.json", typ: tar.TypeDir}), want: ErrBadMember},
		"duplicate member":       {members: with(member{name: "dpc.hcl", body: "again"}), want: ErrBadMember},
		"chunk out of order":     {members: with(member{name: "store.000002", body: "x"}), want: ErrBadMember},
		"manifest sha mismatch":  {members: validMembers(), edit: func(m *Manifest) { m.Members[1].SHA256 = strings.Repeat("0", 64) }, want: ErrCorrupt},
		"manifest size mismatch": {members: validMembers(), edit: func(m *Manifest) { m.Members[2].Size = 7 }, want: ErrCorrupt},
		"manifest lists more":    {members: validMembers(), edit: func(m *Manifest) { m.Members = append(m.Members, Member{Name: "firewall.hcl"}) }, want: ErrCorrupt},
		"manifest newer format":  {members: validMembers(), edit: func(m *Manifest) { m.Format = 2 }, want: ErrCorrupt},
		"lacks the node key":     {members: validMembers()[2:], want: ErrCorrupt},
		"lacks the store":        {members: validMembers()[1:], want: ErrCorrupt},
	} {
		t.Run(name, func(t *testing.T) {
			obj := seal(t, craft(t, tc.members, tc.edit))
			parent := t.TempDir()
			_, err := Restore(bytes.NewReader(obj), pass, RestoreOptions{Target: home.Dir(filepath.Join(parent, "restored"))})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			assertOnlyEntries(t, parent)
			if _, err := os.Stat(filepath.Join(filepath.Dir(parent), "evil")); err == nil {
				t.Fatal("a member was written outside the target")
			}
		})
	}
}

func TestPassphraseTooShortIsRefused(t *testing.T) {
	n := newTestNode(t, 1, 10)
	for name, p := range map[string]string{"empty": "", "eleven": "abcdefghijk", "eleven runes": "ééééééééééé"} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Write(context.Background(), &buf, n.source(), p, nil)
			if !errors.Is(err, ErrPassphraseTooShort) || !strings.Contains(err.Error(), "at least 12") {
				t.Fatalf("got %v, want %v naming the rule", err, ErrPassphraseTooShort)
			}
			if buf.Len() != 0 {
				t.Fatal("bytes written with a refused passphrase")
			}
		})
	}
	if err := CheckPassphrase("abcdefghijkl"); err != nil {
		t.Fatalf("12 characters refused: %v", err)
	}
}

func TestRestoreTarget(t *testing.T) {
	n := newTestNode(t, 5, 10)
	obj := n.backup(t)
	t.Run("non-empty refused without force", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "t")
		_ = os.MkdirAll(target, 0o700)
		_ = os.WriteFile(filepath.Join(target, "keep"), []byte("x"), 0o600)
		_, err := Restore(bytes.NewReader(obj), pass, RestoreOptions{Target: home.Dir(target)})
		if !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("got %v, want %v naming --force", err, ErrTargetNotEmpty)
		}
		assertOnlyEntries(t, filepath.Dir(target), "t")
	})
	t.Run("force moves the old directory aside", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "t")
		_ = os.MkdirAll(target, 0o700)
		_ = os.WriteFile(filepath.Join(target, "keep"), []byte("x"), 0o600)
		res, err := Restore(bytes.NewReader(obj), pass, RestoreOptions{Target: home.Dir(target), Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(res.MovedAside, "keep")); err != nil || string(b) != "x" {
			t.Fatalf("old directory not kept at %q: %v", res.MovedAside, err)
		}
	})
	t.Run("running node's directory refused even with force", func(t *testing.T) {
		_, err := Restore(bytes.NewReader(obj), pass, RestoreOptions{Target: n.dir, Force: true})
		if !errors.Is(err, ErrTargetInUse) {
			t.Fatalf("got %v, want %v", err, ErrTargetInUse)
		}
		if _, err := os.Stat(n.dir.APIToken()); err != nil {
			t.Fatal("the running node's directory was touched")
		}
	})
}

func TestServiceStoresListsAndVerifies(t *testing.T) {
	n := newTestNode(t, 300, 4<<10)
	plug := &fixtureplugin.Plugin{}
	if err := plug.Configure(context.Background(), sdk.ConfigureRequest{DataDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	events := make(chan Progress, 1024)
	svc := NewService(ServiceOptions{Source: n.source(), Plugin: func() (sdk.Backup, error) { return plug, nil },
		Publish: func(p Progress) { events <- p }})
	defer svc.Close()
	if _, err := svc.Start("short"); !errors.Is(err, ErrPassphraseTooShort) {
		t.Fatalf("got %v, want %v", err, ErrPassphraseTooShort)
	}
	first, err := svc.Start(pass)
	if err != nil {
		t.Fatal(err)
	}
	phases := map[string]bool{}
	var last Progress
	for last.State != StateDone {
		last = <-events
		if last.ID != first.ID {
			t.Fatalf("event of another backup: %+v", last)
		}
		if last.State == StateFailed {
			t.Fatalf("backup failed: %s", last.Error)
		}
		phases[last.Phase] = true
	}
	for _, ph := range []string{PhaseSnapshot, PhaseEncrypt, PhaseUpload} {
		if !phases[ph] {
			t.Errorf("no %s phase reported", ph)
		}
	}
	list, err := svc.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Key != first.Name || list[0].Size != last.Bytes {
		t.Fatalf("list %+v, %v; want %s of %d bytes", list, err, first.Name, last.Bytes)
	}
	m, err := svc.Verify(context.Background(), first.Name, pass)
	if err != nil || m.NodeID != n.id.NodeID {
		t.Fatalf("verify: %+v, %v", m, err)
	}
	if _, err := svc.Verify(context.Background(), first.Name, "the wrong passphrase"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("verify with a wrong passphrase: %v", err)
	}
	if _, err := svc.Verify(context.Background(), "../etc/passwd", pass); !errors.Is(err, ErrBadName) {
		t.Fatalf("verify of a bad name: %v", err)
	}
}

func TestObjectName(t *testing.T) {
	name := ObjectName("dpc-node-0123456789abcdef0123456789abcdef", time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC))
	if name != "dpc-backup-01234567-20261205T010203Z.age" {
		t.Fatalf("got %s", name)
	}
	if err := CheckName(name); err != nil {
		t.Fatal(err)
	}
}
