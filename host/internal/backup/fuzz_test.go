package backup

import (
	"bytes"
	"io"
	"testing"
)

// FuzzReadArchive feeds arbitrary plaintext archives to the restore's tar
// and manifest reader: it must return an error or a manifest that matches
// what it read, never panic.
func FuzzReadArchive(f *testing.F) {
	f.Add(craft(f, validMembers(), nil))
	f.Add(craft(f, append(validMembers(), member{name: "../x", body: "x"}), nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := readArchive(bytes.NewReader(data), func(_ string, _ memberKind, body io.Reader) error {
			_, err := io.CopyN(io.Discard, body, 10)
			if err == io.EOF {
				return nil
			}
			return err
		})
		if err == nil && m.Format != FormatVersion {
			t.Fatalf("accepted format %d", m.Format)
		}
	})
}
