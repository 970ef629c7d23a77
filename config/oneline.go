package config

import (
	"bytes"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// HCL refuses a nested block on one line ("A single-line block definition
// can contain only a single argument"), yet a plugin with a short config is
// naturally written so:
//
//	plugin "hub" "hub-dpc" { config { url = "http://127.0.0.1:8000" } }
//
// oneLineConfig finds that form: the inner block holds attributes only.
var oneLineConfig = regexp.MustCompile(`(?m)^[ \t]*plugin[ \t]+"[^"\n]*"[ \t]+"[^"\n]*"[ \t]*\{[ \t]*(config[ \t]*\{([^{}\n]*)\})[ \t]*\}[ \t]*(?:#[^\n]*)?$`)

// liftedConfig is the config block of a one-line plugin block.
type liftedConfig struct {
	body     hcl.Body
	defRange hcl.Range
}

// liftOneLineConfigs blanks the inner config block of every one-line plugin
// block out of src, leaving every other byte where it was, and parses its
// body on its own at its real position, so that errors still point into
// the file. The result is keyed by the plugin block's line.
func liftOneLineConfigs(src []byte, path string) ([]byte, map[int]liftedConfig, hcl.Diagnostics) {
	matches := oneLineConfig.FindAllSubmatchIndex(src, -1)
	if len(matches) == 0 {
		return src, nil, nil
	}
	out := bytes.Clone(src)
	lifted := map[int]liftedConfig{}
	var diags hcl.Diagnostics
	for _, m := range matches {
		blockStart, blockEnd, bodyStart, bodyEnd := m[2], m[3], m[4], m[5]
		body, d := hclsyntax.ParseConfig(src[bodyStart:bodyEnd], path, posAt(src, bodyStart))
		if diags = append(diags, d...); d.HasErrors() {
			continue
		}
		start := posAt(src, blockStart)
		lifted[start.Line] = liftedConfig{body: body.Body, defRange: hcl.Range{Filename: path, Start: start, End: posAt(src, blockStart+len("config"))}}
		for i := blockStart; i < blockEnd; i++ {
			out[i] = ' '
		}
	}
	return out, lifted, diags
}

// posAt is the position of byte offset off in src (columns count bytes,
// which is what HCL counts on the ASCII lines the pattern matches).
func posAt(src []byte, off int) hcl.Pos {
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	lineStart := bytes.LastIndexByte(src[:off], '\n') + 1
	return hcl.Pos{Line: line, Column: off - lineStart + 1, Byte: off}
}
