package hubcmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/hub/internal/auth"
	"github.com/dpc-go/dpc/hub/internal/store/pgstore"
)

// keyReloadInterval is how often a replica whose token keys live in the
// database reads them again, so that a rotation reaches it.
const keyReloadInterval = 30 * time.Second

// tokenKeySource is where the token keys come from: files (the signing key
// --token-secret-file or DATA/token.secret, and --token-accept-secret-file),
// or the cluster's keys in the database.
type tokenKeySource struct {
	o   *options
	pg  *pgstore.Store // nil: files
	log hclog.Logger
	// a is the authority the keys are for, set once it exists.
	a *auth.Authority

	mu sync.Mutex
	// last is when the keys were last read: at most once a second.
	last time.Time
}

func (o *options) tokenKeys(pg *pgstore.Store, logger hclog.Logger) *tokenKeySource {
	k := &tokenKeySource{o: o, log: logger.Named("keys")}
	if o.secretFile == "" && pg != nil {
		k.pg = pg
	}
	return k
}

// load returns the signing key and the further keys accepted.
func (k *tokenKeySource) load(ctx context.Context) ([]byte, [][]byte, error) {
	if k.pg != nil {
		sign, accept, err := k.pg.Keys(ctx, pgstore.KeyToken)
		if err != nil {
			return nil, nil, fmt.Errorf("token keys: %w", err)
		}
		return sign, accept, nil
	}
	path, create := k.o.secretFile, false
	if path == "" {
		path, create = filepath.Join(k.o.data, secretFile), true
	}
	sign, err := auth.LoadOrCreateSecret(path, create)
	if err != nil {
		return nil, nil, err
	}
	var accept [][]byte
	for _, p := range k.o.acceptSecretFiles {
		key, err := auth.LoadOrCreateSecret(p, false)
		if err != nil {
			return nil, nil, fmt.Errorf("--token-accept-secret-file: %w", err)
		}
		accept = append(accept, key)
	}
	return sign, accept, nil
}

// reload reads the database's keys again, at most once a second, and
// reports whether the set changed. Files are read once, at start.
func (k *tokenKeySource) reload(ctx context.Context) bool {
	if k.pg == nil || k.a == nil {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if time.Since(k.last) < time.Second {
		return false
	}
	k.last = time.Now()
	before := k.a.KeyID()
	sign, accept, err := k.load(ctx)
	if err == nil {
		err = k.a.SetKeys(sign, accept)
	}
	if err != nil {
		if ctx.Err() == nil {
			k.log.Warn("reading the token keys failed; the current ones stay in use", "error", err)
		}
		return false
	}
	if k.a.KeyID() != before {
		k.log.Info("token signing key rotated", "key", k.a.KeyID(), "accepted_keys", len(accept))
	}
	return true
}

// unknownKey is the authority's hook for a token of a key it does not
// know: perhaps another replica already signs with a rotated one.
func (k *tokenKeySource) unknownKey() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return k.reload(ctx)
}

// reloadLoop keeps the database's keys current: every keyReloadInterval,
// and at once on SIGHUP.
func (k *tokenKeySource) reloadLoop(ctx context.Context, hup <-chan os.Signal) {
	if k.pg == nil {
		return
	}
	t := time.NewTicker(keyReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-hup:
			k.log.Info("SIGHUP: reading the token keys")
		}
		k.reload(ctx)
	}
}

// newRotateTokenKeyCmd is `dpc-hub rotate-token-key`: a new token signing
// key for the replicas of a PostgreSQL hub, with no restart and no one
// logged out.
func newRotateTokenKeyCmd() *cobra.Command {
	var pgURL string
	cmd := &cobra.Command{
		Use:   "rotate-token-key --postgres URL",
		Short: "Make a new token signing key for the replicas of a PostgreSQL hub, logging no one out",
		Long: `rotate-token-key adds a new key for signing access tokens to the hub's
database and retires the old one. The running replicas sign with the new
key within 30 seconds (at once on SIGHUP, or when they meet a token of
the new key) and
keep accepting tokens of the old key for 24 hours, longer than any access
token lives: nobody is logged out. Refresh tokens do not depend on the key.

A hub on the embedded store (--data) rotates with key files instead; see
hub/OPERATING.md.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pgURL == "" {
				return bad("--postgres is required: the database of the hub whose key to rotate")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			st, err := pgstore.Open(ctx, pgURL, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			key, err := st.RotateKey(ctx, pgstore.KeyToken)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new token signing key %s: the replicas sign with it within %s (at once on SIGHUP); tokens of the old key stay accepted for %s\n",
				auth.KeyID(key), keyReloadInterval, pgstore.KeyAcceptFor)
			return nil
		},
	}
	cmd.Flags().StringVar(&pgURL, "postgres", "", "PostgreSQL URL of the hub (the password in PGPASSWORD or ~/.pgpass)")
	return cmd
}
