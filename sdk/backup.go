package sdk

import (
	"context"
	"io"
	"time"
)

// Backup stores opaque objects. The host encrypts before storing, so a backup
// plugin only ever sees ciphertext.
type Backup interface {
	Plugin
	// Put stores the bytes read from r under key. The object must become
	// visible only once fully written (no partial objects after a crash).
	Put(ctx context.Context, key string, r io.Reader) (ObjectInfo, error)
	// Get opens the object; the caller closes the reader. ErrNotFound if
	// there is no such key.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	List(ctx context.Context, req ListRequest) (ListResult, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	// Key is relative and slash-separated, e.g. "2026/11/node.bak".
	Key  string
	Size int64
	// SHA256 of the stored bytes, lower-case hex.
	SHA256   string
	Modified time.Time
}

// ListRequest pages through objects whose key starts with Prefix.
type ListRequest struct {
	Prefix    string
	PageToken string
	// PageSize of 0 means the plugin's default.
	PageSize int
}

// ListResult is one page of objects.
type ListResult struct {
	Objects       []ObjectInfo
	NextPageToken string
}
