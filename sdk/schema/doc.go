// Package schema turns a plugin's config struct into the schema the host
// validates HCL against, and moves config values across the wire as JSON.
//
// A config struct uses gohcl-style tags: `hcl:"name"` (required attribute),
// `hcl:"name,optional"`, `hcl:"name,block"` (a nested struct, *struct for an
// optional block, []struct for a list of blocks), plus `help:"…"` and
// `sensitive:"true"`. Supported attribute types: string, bool, integers,
// floats, and slices and string-keyed maps of those.
package schema
