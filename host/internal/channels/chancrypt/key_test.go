package chancrypt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestKeyNeverPrintsItsBytes: a key that reaches a log line, an error or a
// debug dump must not leak. Every fmt verb, slog and JSON are tried.
func TestKeyNeverPrintsItsBytes(t *testing.T) {
	k := NewKey()
	raw := k.Bytes()
	type holder struct {
		Name string
		K    Key
		P    *Key
	}
	h := holder{Name: "epoch", K: k, P: &k}
	var slogBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&slogBuf, nil)).Info("key", "k", k)
	cases := map[string]string{
		"%v":              fmt.Sprintf("%v", k),
		"%+v":             fmt.Sprintf("%+v", k),
		"%#v":             fmt.Sprintf("%#v", k),
		"%s":              fmt.Sprintf("%s", k),
		"%x":              fmt.Sprintf("%x", k),
		"%X":              fmt.Sprintf("%X", k),
		"%q":              fmt.Sprintf("%q", k),
		"%d":              fmt.Sprintf("%d", k),
		"pointer %v":      fmt.Sprintf("%v", &k),
		"struct %+v":      fmt.Sprintf("%+v", h),
		"struct %#v":      fmt.Sprintf("%#v", h),
		"Sprint":          fmt.Sprint(k),
		"String":          k.String(),
		"GoString":        k.GoString(),
		"wrapped error":   fmt.Errorf("seal with %v: %w", k, errors.New("x")).Error(),
		"slog JSON":       slogBuf.String(),
		"slice of keys %": fmt.Sprintf("%x", []Key{k, k}),
	}
	hexLower := hex.EncodeToString(raw)
	hexUpper := strings.ToUpper(hexLower)
	for name, out := range cases {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(out, hexLower) || strings.Contains(out, hexUpper) || bytes.Contains([]byte(out), raw) {
				t.Fatalf("key bytes printed: %q", out)
			}
			if !strings.Contains(out, "redacted") {
				t.Fatalf("want a redaction marker, got %q", out)
			}
		})
	}
	if out, err := json.Marshal(h); err == nil {
		t.Fatalf("json.Marshal of a key: want an error, got %s", out)
	}
}

func TestNewKeyIsRandomAndNonZero(t *testing.T) {
	a, b := NewKey(), NewKey()
	if a.IsZero() || b.IsZero() {
		t.Fatal("NewKey returned the zero key")
	}
	if a.Equal(b) {
		t.Fatal("two NewKey calls returned the same key")
	}
	back, err := KeyFromBytes(a.Bytes())
	if err != nil || !back.Equal(a) {
		t.Fatalf("KeyFromBytes(Bytes()): want the same key, got err %v", err)
	}
}

func TestKeyFromBytesRefuses(t *testing.T) {
	cases := map[string][]byte{
		"empty":    nil,
		"31 bytes": bytes.Repeat([]byte{1}, 31),
		"33 bytes": bytes.Repeat([]byte{1}, 33),
		"all zero": make([]byte, 32),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := KeyFromBytes(b); !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("want ErrInvalidKey, got %v", err)
			}
		})
	}
}
