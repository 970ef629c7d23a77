package sdk

import (
	"context"
	"io"
	"time"
)

// Backup stores opaque objects. The host encrypts before storing, so a backup
// plugin only ever sees ciphertext. As in every kind, a method's arguments
// come in a request struct and its answer in a result struct, so fields can
// be added later without breaking plugins.
type Backup interface {
	Plugin
	// Put stores the bytes read from req.Body under req.Key. The object must
	// become visible only once fully written (no partial objects after a
	// crash).
	Put(ctx context.Context, req PutRequest) (PutResult, error)
	// Get opens the object; the caller closes GetResult.Body. ErrNotFound if
	// there is no such key.
	Get(ctx context.Context, req GetRequest) (GetResult, error)
	// Stat describes the object; ErrNotFound if there is no such key.
	Stat(ctx context.Context, req StatRequest) (StatResult, error)
	List(ctx context.Context, req ListRequest) (ListResult, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, req DeleteRequest) error
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

// PutRequest asks to store an object.
type PutRequest struct {
	Key string
	// Body is read to its end; the plugin does not close it.
	Body io.Reader
}

// PutResult describes the stored object.
type PutResult struct {
	Object ObjectInfo
}

// GetRequest asks for an object's bytes.
type GetRequest struct {
	Key string
}

// GetResult is an opened object.
type GetResult struct {
	Object ObjectInfo
	// Body reads the object's bytes; the caller closes it.
	Body io.ReadCloser
}

// StatRequest asks for an object's description.
type StatRequest struct {
	Key string
}

// StatResult describes an object.
type StatResult struct {
	Object ObjectInfo
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

// DeleteRequest asks to remove an object.
type DeleteRequest struct {
	Key string
}
