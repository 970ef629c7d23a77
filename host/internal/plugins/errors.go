package plugins

import "errors"

var (
	// ErrChecksumMismatch means a plugin binary is not the one pinned in
	// dpc.lock.hcl.
	ErrChecksumMismatch = errors.New("plugin binary does not match its pinned sha256")
	// ErrNotPinned means a plugin has no entry in dpc.lock.hcl.
	ErrNotPinned = errors.New("plugin is not pinned in dpc.lock.hcl")
	// ErrNotFound means no binary was found for a configured plugin.
	ErrNotFound = errors.New("plugin binary not found")
	// ErrIncompatible means the plugin and host share no API version, or
	// the plugin is not what its configuration or lock entry says.
	ErrIncompatible = errors.New("plugin is incompatible")
	// ErrInvalidConfig means the plugin rejected its configuration.
	ErrInvalidConfig = errors.New("invalid plugin configuration")
	// ErrCrashLoop means a plugin kept crashing and the host gave up on it.
	ErrCrashLoop = errors.New("plugin is crash-looping")
	// ErrUnknownPlugin means a signal named a plugin that is not running.
	ErrUnknownPlugin = errors.New("no such plugin")
)
