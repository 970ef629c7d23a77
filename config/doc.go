// Package config reads the dpc host's configuration.
//
// Start with [Load]: it parses $DPC_HOME/dpc.hcl with hcl/v2 and layers the
// node and api settings as defaults → file → DPC_* environment → flags
// (the layering is done with koanf). Plugin blocks come from the file only;
// each keeps its `config { … }` body undecoded, because only the plugin knows
// its shape: once the host has asked the plugin for its schema it calls
// [ValidatePluginConfig] to check the body and turn it into JSON, and
// [AttributeRange] to point a plugin-reported problem at a file:line:column.
//
// [ReadLock] and [Lock.Write] handle $DPC_HOME/dpc.lock.hcl, which pins each
// plugin binary by sha256. [DefaultFileContent] is the dpc.hcl `dpc init`
// writes.
//
// Every problem found in a file is reported as an [*Error] whose message has
// one `file:line:column: summary: detail` line per problem; use errors.Is with
// the sentinels in errors.go to tell the kinds apart.
package config
