// Package jsondoc holds helpers for JSON-like documents: the values
// encoding/json decodes into an any, that is map[string]any for objects,
// []any for arrays, and strings, numbers (float64 or json.Number), booleans
// and nil for the rest.
//
// [Copy] and [CopyValue] make deep copies of them, so that a caller may
// change what it is handed without touching the original.
package jsondoc
