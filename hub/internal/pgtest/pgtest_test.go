package pgtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestServerSurvivesKillAndStart: a database made on the server answers,
// is unreachable while the server is killed, and answers with its data
// after Start.
func TestServerSurvivesKillAndStart(t *testing.T) {
	s := New(t)
	url := s.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if c, err := pgx.Connect(ctx, url); err == nil {
		_ = c.Close(ctx)
		t.Fatal("connected to a killed server")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: v=%d err=%v, want 42", v, err)
	}
}

// TestAddPasswordUserRefusesAWrongPassword: after AddPasswordUser the
// shared server refuses the role with a wrong password, lets it in with the
// right one, and still lets postgres in without one.
func TestAddPasswordUserRefusesAWrongPassword(t *testing.T) {
	s := Shared(t)
	s.AddPasswordUser(t, "hub_pw", "right-secret")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cases := map[string]struct {
		user, password string
		wantCode       string // "" for success
	}{
		"wrong password":       {"hub_pw", "wrong-secret", "28P01"},
		"right password":       {"hub_pw", "right-secret", ""},
		"postgres without one": {"postgres", "", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, err := pgx.ParseConfig(s.URL("postgres"))
			if err != nil {
				t.Fatal(err)
			}
			cfg.User, cfg.Password = tc.user, tc.password
			c, err := pgx.ConnectConfig(ctx, cfg)
			if err == nil {
				_ = c.Close(ctx)
			}
			var pgErr *pgconn.PgError
			switch {
			case tc.wantCode == "" && err != nil:
				t.Fatalf("want a connection, got %v", err)
			case tc.wantCode != "" && (!errors.As(err, &pgErr) || pgErr.Code != tc.wantCode):
				t.Fatalf("want error %s, got %v", tc.wantCode, err)
			}
		})
	}
}
