package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNoPostgres is returned when the PostgreSQL server binaries are missing.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found")

// Server is a running throwaway PostgreSQL cluster.
type Server struct {
	bin  string // directory of initdb and pg_ctl
	dir  string // parent of the data dir, removed at the end
	data string
	port int
	cred *syscall.Credential

	mu      sync.Mutex
	running bool
}

// binDir finds the directory of initdb and pg_ctl.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs))) // newest major version first
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w on PATH or in /usr/lib/postgresql/*/bin: install the Debian package postgresql (.ci/run does)", ErrNoPostgres)
}

// New starts a fresh cluster for t and stops it when t ends. Without the
// server binaries it skips t, or fails it under CI.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	skipOrFail(t, err)
	t.Cleanup(s.destroy)
	return s
}

// skipOrFail ends t when the server did not start: a skip without the
// binaries (a failure under CI), a failure otherwise.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNoPostgres) {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// shared is the one server of a test binary that uses Shared.
var shared struct {
	mu      sync.Mutex
	inMain  bool
	started bool
	s       *Server
	err     error
}

// Shared returns the test binary's shared server, started on first use,
// so that a package's tests pay for one cluster (1-2 s) instead of one
// each. Tests on it take fresh databases (Database) and must not Stop or
// Kill it (use New for that). The package's TestMain must run the tests
// with Main, which removes the server at the end.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("pgtest.Shared: the package's TestMain must call os.Exit(pgtest.Main(m)), which removes the shared server")
	}
	if !shared.started {
		shared.started = true
		shared.s, shared.err = start()
	}
	skipOrFail(t, shared.err)
	return shared.s
}

// Main runs the tests (m.Run) and then removes the server Shared started;
// call it from TestMain as os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.s != nil {
		shared.s.destroy()
	}
	return code
}

func start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dpc-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	if os.Geteuid() == 0 {
		if s.cred, err = nobody(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: hand %s to nobody: %w", dir, err)
		}
	}
	if err := s.run("initdb", "-D", s.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if s.port, err = freePort(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.Start(); err != nil {
		s.destroy()
		return nil, err
	}
	return s, nil
}

// nobody returns the credential of the unprivileged user PostgreSQL runs as.
func nobody() (*syscall.Credential, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("pgtest: PostgreSQL refuses to run as root and user nobody is missing: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs one of the server binaries as the cluster's owner.
func (s *Server) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgtest: %s %v: %w\n%s", name, args, err, out.String())
	}
	return nil
}

// Start starts the server (again, after Stop or Kill) on the same port and
// returns once it accepts connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	// No fsync: the cluster is thrown away and a killed server's writes
	// stay in the page cache. Commits stay synchronous, so that Kill loses
	// nothing a client saw committed, as on a real server. The socket dir
	// is the cluster's own.
	opts := fmt.Sprintf("-p %d -h 127.0.0.1 -k %s -c fsync=off -c full_page_writes=off -c max_connections=200", s.port, s.dir)
	if err := s.run("pg_ctl", "-D", s.data, "-o", opts, "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		return err
	}
	s.running = true
	return nil
}

// Stop shuts the server down cleanly.
func (s *Server) Stop() error { return s.stop("fast") }

// Kill stops the server the way a crash does: immediate mode, no clean
// shutdown, every client connection cut.
func (s *Server) Kill() error { return s.stop("immediate") }

func (s *Server) stop(mode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	if err := s.run("pg_ctl", "-D", s.data, "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		return err
	}
	s.running = false
	return nil
}

func (s *Server) destroy() {
	_ = s.stop("immediate")
	_ = os.RemoveAll(s.dir)
}

// URL returns the connection URL of database db.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Database creates a fresh, empty database and returns its URL.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "t_" + hex.EncodeToString(b)
	ctx, conn := s.admin(t)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return s.URL(name)
}

// admin connects to the server as postgres for the rest of the test (the
// connection and its context end with it).
func (s *Server) admin(t testing.TB) (context.Context, *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return ctx, conn
}

// passwordHBA makes the cluster check passwords (scram-sha-256) for every
// role but postgres, which the helpers use without one.
const passwordHBA = `local all postgres trust
host all postgres 127.0.0.1/32 trust
host all postgres ::1/128 trust
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
`

// AddPasswordUser creates a login role with a password and makes the
// cluster check passwords for every role but postgres, so that a test can
// see a wrong password refused. It returns once the server checks them.
func (s *Server) AddPasswordUser(t testing.TB, name, password string) {
	t.Helper()
	ctx, conn := s.admin(t)
	// ALTER when the role exists: a shared server outlives one test run
	// under go test -count.
	var create string
	if err := conn.QueryRow(ctx, `SELECT format(CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = $1::text)
THEN 'ALTER ROLE %I LOGIN PASSWORD %L' ELSE 'CREATE ROLE %I LOGIN PASSWORD %L' END, $1::text, $2::text)`, name, password).Scan(&create); err != nil {
		t.Fatalf("pgtest: quote role: %v", err)
	}
	if _, err := conn.Exec(ctx, create); err != nil {
		t.Fatalf("pgtest: create role: %v", err)
	}
	// Rewriting the file in place keeps its owner (the server's user).
	if err := os.WriteFile(filepath.Join(s.data, "pg_hba.conf"), []byte(passwordHBA), 0o600); err != nil {
		t.Fatalf("pgtest: write pg_hba.conf: %v", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		t.Fatalf("pgtest: reload: %v", err)
	}
	// The postmaster rereads the file when it handles the signal: wait
	// until a connection without the password is refused.
	cfg, err := pgx.ParseConfig(s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = name, ""
	for {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "28P01" {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("pgtest: the server did not start checking passwords: %v", err)
			}
			continue
		}
		_ = c.Close(ctx)
		if ctx.Err() != nil {
			t.Fatal("pgtest: the server did not start checking passwords within a minute")
		}
	}
}
