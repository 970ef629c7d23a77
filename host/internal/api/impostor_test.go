package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// impostorEnv tells the test binary to act as TestHelperImpostorServer.
const impostorEnv = "DPC_TEST_IMPOSTOR_SOCKET"

// TestHelperImpostorServer is not a test of its own: TestClientRefusesAnImpostorSocket
// runs the test binary as another user to serve the socket in impostorEnv,
// and reads what it received from its stdout.
func TestHelperImpostorServer(t *testing.T) {
	path := os.Getenv(impostorEnv)
	if path == "" {
		t.Skip("runs only as TestClientRefusesAnImpostorSocket's helper process")
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	_ = os.Chmod(path, 0o777)
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(0)
		}
		b, _ := io.ReadAll(c)
		c.Close()
		fmt.Printf("received %q\n", b)
	}
}

func TestClientRefusesAnImpostorSocket(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to run a server as another user")
	}
	const nobody = 65534
	// A directory the other user can reach, holding a copy of this test
	// binary it may run.
	dir, err := os.MkdirTemp("", "dpc-impostor-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "api.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "api.sock")
	cmd := exec.Command(bin, "-test.run=^TestHelperImpostorServer$")
	cmd.Env = append(os.Environ(), impostorEnv+"="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("helper server: want ready, got %q", lines.Text())
	}

	tokPath := filepath.Join(t.TempDir(), "api.token")
	tok, err := NewToken(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(sock, tokPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), "/v1/node", &NodeInfo{}); !errors.Is(err, ErrImpostor) {
		t.Errorf("request to a socket served by uid %d: want ErrImpostor, got %v", nobody, err)
	}
	// Whatever the impostor received is on its stdout once it is gone.
	_ = cmd.Process.Kill()
	var received strings.Builder
	for lines.Scan() {
		received.WriteString(lines.Text())
	}
	if strings.Contains(received.String(), tok) {
		t.Errorf("the impostor received the token: %s", received.String())
	}
}
