package plugins

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// fixtureBin is the fixture plugin binary, built once for this package.
var fixtureBin Binary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dpc-plugins-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureBin = Binary{Name: "fixture", Path: filepath.Join(dir, BinaryPrefix+"fixture")}
	out, err := exec.Command("go", "build", "-o", fixtureBin.Path,
		"github.com/dpc-go/dpc/host/internal/fixtureplugin/cmd/dpc-plugin-fixture").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the fixture plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
