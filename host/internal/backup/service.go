package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
)

// States of a backup in Progress.
const (
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
)

// progressStep is how many bytes pass between two progress reports.
const progressStep = 256 << 10

// Progress is a "backup" event's data.
type Progress struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	Phase string `json:"phase"`
	// Bytes is how much ciphertext went to the plugin so far.
	Bytes int64 `json:"bytes"`
	// Error says why a failed backup failed.
	Error string `json:"error,omitempty"`
}

// ServiceOptions configures a Service.
type ServiceOptions struct {
	Source Source
	// Plugin returns the running backup plugin, or ErrNoPlugin.
	Plugin func() (sdk.Backup, error)
	// Publish sends a progress event to the node's event stream.
	Publish func(Progress)
	Logger  hclog.Logger
}

// Service makes backups in the background for the node's API.
type Service struct {
	o   ServiceOptions
	log hclog.Logger

	mu      sync.Mutex
	running string // the id of the backup being made, "" if none
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewService returns a Service; Close stops a backup in progress.
func NewService(o ServiceOptions) *Service {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{o: o, log: o.Logger.Named("backup"), ctx: ctx, cancel: cancel}
}

// Close stops a backup in progress and waits for it to end.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// Start begins a backup in the background and returns its first progress
// (its id and object name); "backup" events follow it to done or failed.
func (s *Service) Start(passphrase string) (Progress, error) {
	if err := CheckPassphrase(passphrase); err != nil {
		return Progress{}, err
	}
	b, err := s.o.Plugin()
	if err != nil {
		return Progress{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != "" {
		return Progress{}, fmt.Errorf("%w (%s); wait for it to finish", ErrBusy, s.running)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	p := Progress{ID: hex.EncodeToString(rnd[:]), Name: ObjectName(s.o.Source.NodeID, time.Now()),
		State: StateRunning, Phase: PhaseSnapshot}
	s.running = p.ID
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(b, p, passphrase)
	}()
	return p, nil
}

// run makes the backup and streams it to the plugin through a pipe: the
// whole backup is never in memory or in a temporary file.
func (s *Service) run(b sdk.Backup, p Progress, passphrase string) {
	defer func() {
		s.mu.Lock()
		s.running = ""
		s.mu.Unlock()
	}()
	s.publish(p)
	pr, pw := io.Pipe()
	cw := &countWriter{w: pw, report: func(n int64) { p.Bytes = n; s.publish(p) }}
	written := make(chan error, 1)
	go func() {
		_, err := Write(s.ctx, cw, s.o.Source, passphrase, func(ph string) { p.Phase = ph; s.publish(p) })
		if err == nil {
			p.Phase = PhaseUpload
			s.publish(p)
		}
		written <- err
		_ = pw.CloseWithError(err)
	}()
	res, err := b.Put(s.ctx, sdk.PutRequest{Key: p.Name, Body: pr})
	// Put may return before reading everything (a plugin error): unblock
	// the writer.
	_ = pr.CloseWithError(errors.New("the backup plugin stopped reading"))
	if werr := <-written; werr != nil {
		err = werr
	}
	if err != nil {
		p.State, p.Error = StateFailed, err.Error()
		s.log.Error("backup failed", "name", p.Name, "error", err)
		_ = b.Delete(context.WithoutCancel(s.ctx), sdk.DeleteRequest{Key: p.Name})
	} else {
		p.State, p.Bytes = StateDone, res.Object.Size
		s.log.Info("backup stored", "name", p.Name, "bytes", res.Object.Size)
	}
	s.publish(p)
}

func (s *Service) publish(p Progress) {
	if s.o.Publish != nil {
		s.o.Publish(p)
	}
}

// List returns the stored backups, newest first.
func (s *Service) List(ctx context.Context) ([]sdk.ObjectInfo, error) {
	b, err := s.o.Plugin()
	if err != nil {
		return nil, err
	}
	return List(ctx, b)
}

// List returns the backups stored through b, newest first.
func List(ctx context.Context, b sdk.Backup) ([]sdk.ObjectInfo, error) {
	var out []sdk.ObjectInfo
	token := ""
	for {
		res, err := b.List(ctx, sdk.ListRequest{Prefix: "dpc-backup-", PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("listing backups: %w", err)
		}
		for _, o := range res.Objects {
			if CheckName(o.Key) == nil {
				out = append(out, o)
			}
		}
		if res.NextPageToken == "" || res.NextPageToken == token {
			break
		}
		token = res.NextPageToken
	}
	slices.SortFunc(out, func(a, b sdk.ObjectInfo) int { return strings.Compare(b.Key, a.Key) })
	return out, nil
}

// Verify reads the stored backup name through the plugin, decrypts it and
// checks every member, writing nothing.
func (s *Service) Verify(ctx context.Context, name, passphrase string) (Manifest, error) {
	if err := CheckName(name); err != nil {
		return Manifest{}, err
	}
	b, err := s.o.Plugin()
	if err != nil {
		return Manifest{}, err
	}
	res, err := b.Get(ctx, sdk.GetRequest{Key: name})
	if err != nil {
		return Manifest{}, fmt.Errorf("reading backup %s: %w", name, err)
	}
	defer res.Body.Close()
	return Verify(res.Body, passphrase)
}

// countWriter counts the bytes written and reports every progressStep.
type countWriter struct {
	w      io.Writer
	n      int64
	last   int64
	report func(int64)
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.n-c.last >= progressStep {
		c.last = c.n
		c.report(c.n)
	}
	return n, err
}
