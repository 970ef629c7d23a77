package plugins

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dpc-go/dpc/config"
)

// ResolveSpecs matches every enabled plugin block of cfg with its binary and
// its lock entry. It reports every problem at once, each naming the plugin
// and where it is configured.
func ResolveSpecs(cfg *config.Config, lock *config.Lock, bins []Binary, searched []string) ([]Spec, error) {
	byName := map[string]Binary{}
	for _, b := range bins {
		byName[b.Name] = b
	}
	var specs []Spec
	var errs []error
	for _, p := range cfg.Plugins {
		if !p.Enabled {
			continue
		}
		where := config.Pos(p.DeclRange)
		bin, ok := byName[p.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: plugin %s/%s: %w: no file %s%s in %s",
				where, p.Kind, p.Name, ErrNotFound, BinaryPrefix, p.Name, strings.Join(searched, ", ")))
			continue
		}
		entry, ok := lock.Find(p.Name)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: plugin %s/%s: %w: review %s, then run `dpc plugin lock`",
				where, p.Kind, p.Name, ErrNotPinned, bin.Path))
			continue
		}
		if entry.Kind != p.Kind {
			errs = append(errs, fmt.Errorf("%s: plugin %s: %w: configured as a %s plugin, but dpc.lock.hcl pins it as %s",
				where, p.Name, ErrIncompatible, p.Kind, entry.Kind))
			continue
		}
		specs = append(specs, Spec{Config: p, Binary: bin, SHA256: entry.SHA256})
	}
	return specs, errors.Join(errs...)
}
