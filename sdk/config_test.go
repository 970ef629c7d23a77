package sdk_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
)

// toyConfig is a plugin config for the tests of ConfigOf and Config.
type toyConfig struct {
	Model string
}

var errNoModel = errors.New("no model")

func (c *toyConfig) Validate() error {
	if c.Model == "" {
		return errNoModel
	}
	return nil
}

// plainConfig has no Validate method.
type plainConfig struct{ N int }

func TestConfigOf(t *testing.T) {
	t.Parallel()
	good := &toyConfig{Model: "m"}
	tests := map[string]struct {
		config   any
		wantErr  error
		wantText string
	}{
		"the plugin's config":   {config: good},
		"another type":          {config: json.RawMessage(`{}`), wantErr: sdk.ErrInvalidArgument, wantText: "invalid argument: config of type json.RawMessage, want *sdk_test.toyConfig"},
		"the type, not pointer": {config: toyConfig{Model: "m"}, wantErr: sdk.ErrInvalidArgument, wantText: "config of type sdk_test.toyConfig"},
		"a nil pointer":         {config: (*toyConfig)(nil), wantErr: sdk.ErrInvalidArgument, wantText: "config of type *sdk_test.toyConfig"},
		"none":                  {config: nil, wantErr: sdk.ErrInvalidArgument, wantText: "config of type <nil>"},
		"invalid":               {config: &toyConfig{}, wantErr: errNoModel, wantText: "no model"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, err := sdk.ConfigOf[toyConfig](sdk.ConfigureRequest{Config: tc.config})
			if tc.wantErr == nil {
				if err != nil || cfg != good {
					t.Errorf("want the config itself, got %v (err %v)", cfg, err)
				}
				return
			}
			if cfg != nil || !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("want no config and %v containing %q, got %v and %v", tc.wantErr, tc.wantText, cfg, err)
			}
		})
	}
}

func TestConfigOfWithoutValidate(t *testing.T) {
	t.Parallel()
	want := &plainConfig{N: 3}
	if got, err := sdk.ConfigOf[plainConfig](sdk.ConfigureRequest{Config: want}); err != nil || got != want {
		t.Errorf("want the config itself, got %v (err %v)", got, err)
	}
}

func TestConfigHolder(t *testing.T) {
	t.Parallel()
	logger := hclog.NewNullLogger()
	first, second := &toyConfig{Model: "a"}, &toyConfig{Model: "b"}
	tests := map[string]struct {
		// steps run in order on one zero Config; the last Get is checked.
		steps     func(c *sdk.Config[toyConfig]) error
		want      *toyConfig
		wantErr   error
		wantNoLog bool
	}{
		"zero value holds none": {
			steps:   func(*sdk.Config[toyConfig]) error { return nil },
			wantErr: sdk.ErrNotConfigured,
		},
		"set then get": {
			steps: func(c *sdk.Config[toyConfig]) error {
				_, _, err := c.Set(sdk.ConfigureRequest{Config: first, Logger: logger})
				return err
			},
			want: first,
		},
		"a second set replaces the first": {
			steps: func(c *sdk.Config[toyConfig]) error {
				if _, _, err := c.Set(sdk.ConfigureRequest{Config: first, Logger: logger}); err != nil {
					return err
				}
				_, _, err := c.Set(sdk.ConfigureRequest{Config: second, Logger: logger})
				return err
			},
			want: second,
		},
		"an invalid config keeps the held one": {
			steps: func(c *sdk.Config[toyConfig]) error {
				if _, _, err := c.Set(sdk.ConfigureRequest{Config: first, Logger: logger}); err != nil {
					return err
				}
				if _, _, err := c.Set(sdk.ConfigureRequest{Config: &toyConfig{}}); !errors.Is(err, errNoModel) {
					return fmt.Errorf("want errNoModel, got %v", err)
				}
				return nil
			},
			want: first,
		},
		"a config of another type is refused": {
			steps: func(c *sdk.Config[toyConfig]) error {
				if _, _, err := c.Set(sdk.ConfigureRequest{Config: json.RawMessage(`{}`)}); !errors.Is(err, sdk.ErrInvalidArgument) {
					return fmt.Errorf("want sdk.ErrInvalidArgument, got %v", err)
				}
				return nil
			},
			wantErr: sdk.ErrNotConfigured,
		},
		"clear forgets": {
			steps: func(c *sdk.Config[toyConfig]) error {
				if _, _, err := c.Set(sdk.ConfigureRequest{Config: first, Logger: logger}); err != nil {
					return err
				}
				c.Clear()
				return nil
			},
			wantErr: sdk.ErrNotConfigured,
		},
		"no logger in the request gives a working one": {
			steps: func(c *sdk.Config[toyConfig]) error {
				_, _, err := c.Set(sdk.ConfigureRequest{Config: first})
				return err
			},
			want: first,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var c sdk.Config[toyConfig]
			if err := tc.steps(&c); err != nil {
				t.Fatal(err)
			}
			got, log, err := c.Get()
			if tc.wantErr != nil {
				if got != nil || log != nil || !errors.Is(err, tc.wantErr) {
					t.Errorf("want no config and %v, got %v, %v, %v", tc.wantErr, got, log, err)
				}
				return
			}
			if err != nil || got != tc.want || log == nil {
				t.Fatalf("want %v and a logger, got %v, %v, %v", tc.want, got, log, err)
			}
			log.Info("a logger that takes a line") // must not panic
		})
	}
}

// TestConfigHolderConcurrent runs Set, Get and Clear at once: under -race
// it proves the holder needs no lock of the plugin's own.
func TestConfigHolderConcurrent(t *testing.T) {
	t.Parallel()
	var c sdk.Config[toyConfig]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				switch (i + j) % 3 {
				case 0:
					_, _, _ = c.Set(sdk.ConfigureRequest{Config: &toyConfig{Model: "m"}})
				case 1:
					if cfg, log, err := c.Get(); err == nil && (cfg.Model != "m" || log == nil) {
						t.Errorf("want a whole config and a logger, got %v, %v", cfg, log)
					}
				default:
					c.Clear()
				}
			}
		}()
	}
	wg.Wait()
}
