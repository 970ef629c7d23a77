package backup

import "errors"

var (
	// ErrPassphraseTooShort means the passphrase has fewer than
	// MinPassphrase characters.
	ErrPassphraseTooShort = errors.New("passphrase too short")
	// ErrWrongPassphrase means the object is a backup, but not one
	// encrypted to this passphrase.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrCorrupt means the object is not a dpc backup, or was damaged or
	// tampered with: it failed authentication or does not match its
	// manifest.
	ErrCorrupt = errors.New("backup damaged or tampered with")
	// ErrBadMember means the archive holds a member the format does not
	// define (a path, a link, an unknown name, a duplicate).
	ErrBadMember = errors.New("backup holds a member the format does not define")
	// ErrTargetNotEmpty means the restore target exists and is not empty.
	ErrTargetNotEmpty = errors.New("target directory is not empty")
	// ErrTargetInUse means a running node uses the restore target.
	ErrTargetInUse = errors.New("target directory is in use by a running node")
	// ErrNoPlugin means no backup plugin is running.
	ErrNoPlugin = errors.New("no backup plugin is running")
	// ErrBusy means a backup is already being made.
	ErrBusy = errors.New("a backup is already running")
	// ErrBadName means an object name is not one of a dpc backup.
	ErrBadName = errors.New("not a dpc backup name")
)
