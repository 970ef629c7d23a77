package llmhttp

import (
	"bufio"
	"bytes"
	"io"
)

// NDJSONReader reads newline-delimited JSON (application/x-ndjson, as
// Ollama streams): one value per line, lines ending in LF or CRLF, blank
// lines skipped. It returns each line's bytes and leaves decoding to the
// caller, who knows the shape.
type NDJSONReader struct {
	sc *bufio.Scanner
}

// NewNDJSONReader reads lines from r. maxLine bounds each line in bytes
// (without the line ending); 0 or less means DefaultMaxLineSize. A longer
// line fails with ErrTooLong.
func NewNDJSONReader(r io.Reader, maxLine int) *NDJSONReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineSize
	}
	return &NDJSONReader{sc: newLineScanner(r, maxLine, bufio.ScanLines)}
}

// Next returns the next non-blank line (a copy the caller may keep), or
// io.EOF at the end of the stream. After an error other than io.EOF, the
// reader is done.
func (r *NDJSONReader) Next() ([]byte, error) {
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return bytes.Clone(line), nil
	}
	return nil, scanErr(r.sc.Err())
}
