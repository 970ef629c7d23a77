package backupfile

import (
	"errors"
	"path/filepath"

	"github.com/dpc-go/dpc/sdk"
)

// Config is the plugin's `config {}` block in dpc.hcl:
//
//	plugin "backup" "backup-file" {
//	  config {
//	    dir             = "${home}/backups"
//	    max_object_size = 1073741824 # optional, bytes; 0 = unlimited
//	  }
//	}
type Config struct {
	// Dir is the absolute directory the objects are stored under. It is
	// created with mode 0700 if it does not exist.
	Dir string `hcl:"dir" help:"Absolute directory to store backup objects in; created (mode 0700) if missing."`
	// MaxObjectSize is the largest object Put accepts, in bytes; 0 means
	// unlimited.
	MaxObjectSize int64 `hcl:"max_object_size,optional" help:"Largest object accepted, in bytes; 0 means unlimited."`
}

// Validate checks the config without touching the filesystem; Configure
// checks that the directory is usable.
func (c *Config) Validate() error {
	var errs []error
	switch {
	case c.Dir == "":
		errs = append(errs, sdk.AttributeError([]string{"dir"}, "must not be empty"))
	case !filepath.IsAbs(c.Dir):
		errs = append(errs, sdk.AttributeError([]string{"dir"}, "must be an absolute path, got %q", c.Dir))
	}
	if c.MaxObjectSize < 0 {
		errs = append(errs, sdk.AttributeError([]string{"max_object_size"}, "must be 0 (unlimited) or a positive number of bytes, got %d", c.MaxObjectSize))
	}
	return errors.Join(errs...)
}
