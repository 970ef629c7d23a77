package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the CLI in-process with args and returns stdout and the error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := NewRoot()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(""))
	err := root.Execute()
	return out.String(), err
}

func TestArgumentErrorsShowTheUsage(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	tests := map[string]struct {
		args []string
		want string
	}{
		"send without arguments":      {args: []string{"send"}, want: "usage: dpc send NODE_ID TEXT"},
		"history without a peer":      {args: []string{"history"}, want: "usage: dpc history NODE_ID"},
		"firewall check with one arg": {args: []string{"firewall", "check", "bob"}, want: "usage: dpc firewall check NODE_ID RESOURCE"},
		"an unknown flag":             {args: []string{"peers", "--nope"}, want: "usage: dpc peers"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := run(t, append([]string{"--home", home}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestNonexistentHomeSaysToRunInit(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "nowhere")
	for _, args := range [][]string{{"id"}, {"peers"}, {"run"}, {"context", "show"}, {"plugin", "lock"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			_, err := run(t, append([]string{"--home", home}, args...)...)
			if !errors.Is(err, ErrNotInitialized) || !containsAll(err.Error(), "run `dpc init`", "dpc --home "+home+" init") {
				t.Errorf("want ErrNotInitialized telling to run init, got %v", err)
			}
			if _, serr := os.Stat(home); serr == nil {
				t.Errorf("%v created %s", args, home)
			}
		})
	}
}

func TestInitWithoutNameUsesTheUserName(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	out, err := run(t, "--home", home, "init")
	if err != nil {
		t.Fatal(err)
	}
	want := defaultName()
	if want == "" {
		t.Fatal("defaultName is empty")
	}
	cfg, err := os.ReadFile(filepath.Join(home, "dpc.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), `name = "`+want+`"`) || !strings.Contains(out, "name         "+want) {
		t.Errorf("want the name %q in dpc.hcl and the output, got:\n%s\n%s", want, out, cfg)
	}
}

func TestTransferBarShowsNothingOffATerminal(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	bar := newTransferBar(&b, "f.bin", 1000)
	bar.set(10)
	bar.set(1000)
	bar.finish()
	if b.Len() != 0 {
		t.Errorf("want no progress output off a terminal, got %q", b.String())
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
