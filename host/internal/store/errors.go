package store

import "errors"

// ErrNotFound is returned by Get when the key does not exist.
var ErrNotFound = errors.New("key not found")

// ErrLocked is returned by Open when another process holds the database directory.
var ErrLocked = errors.New("database is locked")

// ErrSchemaTooNew is returned by Open when the database was written by a newer dpc.
var ErrSchemaTooNew = errors.New("database schema is newer than this dpc supports")

// ErrCorruptSchema is returned by Open when the stored schema version cannot be read.
var ErrCorruptSchema = errors.New("database schema version is unreadable")

// ErrClosed is returned by operations on a closed Store.
var ErrClosed = errors.New("store is closed")
