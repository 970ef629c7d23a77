package schema_test

import (
	"errors"
	"testing"

	"github.com/dpc-go/dpc/sdk/schema"
)

// FuzzDecode feeds arbitrary bytes to Decode. It must never panic, every
// failure must be a *PathError, and whatever it accepts must survive an
// Encode/Decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		``,
		`{}`,
		`null`,
		`[]`,
		`{"dir": "/d"}`,
		`{"dir": "/d", "name": "n", "port": 1, "small": 255, "ratio": 2.5, "debug": true}`,
		`{"dir": "/d", "tags": ["x"], "labels": {"a": "b"}}`,
		`{"dir": "/d", "limits": {"max": 1, "burst": 2}, "tls": {"cert": "c"}}`,
		`{"dir": "/d", "server": [{"url": "u"}, {"url": "v", "weight": 3}]}`,
		`{"dir": "/d", "server": [null, {}]}`,
		`{"dir": "/d", "server": {"url": "u"}}`,
		`{"dir": 1e400}`,
		`{"dir": "/d", "port": 1e3}`,
		`{"dir": "/d", "small": -1}`,
		`{"dir": "\ud800"}`,
		`{"dir": "/d", "dir": 2}`,
		`{"dir": "/d", "limits": null, "tls": null}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := defaults()
		err := schema.Decode(data, cfg)
		if err != nil {
			var pe *schema.PathError
			if !errors.As(err, &pe) {
				t.Fatalf("want a *schema.PathError, got %T %v", err, err)
			}
			return
		}
		enc, err := schema.Encode(cfg)
		if err != nil {
			t.Fatalf("Encode of a decoded config: want no error, got %v", err)
		}
		again := defaults()
		if err := schema.Decode(enc, again); err != nil {
			t.Fatalf("Decode(Encode(x)) of %s: want no error, got %v", enc, err)
		}
		if !equalConfig(again, cfg) {
			t.Fatalf("round trip: want %+v, got %+v", cfg, again)
		}
	})
}
