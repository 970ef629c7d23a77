package personal

import (
	"errors"
	"testing"

	"github.com/dpc-go/dpc/host/internal/filewatch/watchtest"
)

// TestReloadUsesTheFileNow: another process (`dpc context set`) wrote the
// file; Reload makes it the context in force at once, without waiting for
// Watch, and keeps the previous context when the file is broken.
func TestReloadUsesTheFileNow(t *testing.T) {
	t.Parallel()
	path := newHome(t, `{"profile":{"name":"Old"}}`)
	f, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, old := f.Current()
	tests := []struct {
		name     string
		content  string
		wantName string
		wantErr  bool
	}{
		{name: "a new version", content: `{"profile":{"name":"New"}}`, wantName: "New"},
		{name: "a broken file keeps the context in force", content: `{"profile":`, wantName: "New", wantErr: true},
		{name: "fixed again", content: `{"profile":{"name":"Old"}}`, wantName: "Old"},
	}
	for _, tc := range tests {
		watchtest.WriteInPlace(t, path, tc.content)
		hash, err := f.Reload()
		doc, cur := f.Current()
		name, _ := lookup(doc, "profile", "name")
		if hash != cur || name != tc.wantName || (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrInvalidContext)) {
			t.Errorf("%s: want %q in force and error %v, got %q (hash %s, in force %s), %v", tc.name, tc.wantName, tc.wantErr, name, hash, cur, err)
		}
	}
	if _, h := f.Current(); h != old {
		t.Errorf("the same content must hash the same: %s then %s", old, h)
	}
}
