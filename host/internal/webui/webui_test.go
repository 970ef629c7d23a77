package webui

import (
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestAssetsFetchNothingFromElsewhere: the UI works offline, so no page,
// script or style names an address off the node.
func TestAssetsFetchNothingFromElsewhere(t *testing.T) {
	t.Parallel()
	offsite := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|import[^;]*["']https?:|fetch\(\s*["']https?:`)
	n := 0
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := fs.ReadFile(assets, path)
		if err != nil {
			return err
		}
		if m := offsite.Find(b); m != nil {
			t.Errorf("%s refers to another site: %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no embedded assets")
	}
}

func TestHandlerServesTheIndex(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	tests := map[string]struct {
		path, wantType, wantBody string
		wantCode                 int
	}{
		"index":   {"/", "text/html", `<script type="module" src="/app.js">`, http.StatusOK},
		"script":  {"/app.js", "text/javascript", "const routes", http.StatusOK},
		"style":   {"/style.css", "text/css", ":focus-visible", http.StatusOK},
		"unknown": {"/nope.js", "text/plain", "404", http.StatusNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			body := string(b)
			if res.StatusCode != tc.wantCode || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.wantType) {
				t.Errorf("GET %s: %d %q, want %d %s", tc.path, res.StatusCode, res.Header.Get("Content-Type"), tc.wantCode, tc.wantType)
			}
			if !strings.Contains(body, tc.wantBody) {
				t.Errorf("GET %s: body lacks %q", tc.path, tc.wantBody)
			}
		})
	}
}

func TestQRCodeSVG(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		text    string
		wantErr bool
	}{
		"dpc uri":  {text: "dpc://127.0.0.1:8888?node_id=dpc-node-0123456789abcdef0123456789abcdef"},
		"node id":  {text: "dpc-node-0123456789abcdef0123456789abcdef"},
		"too long": {text: strings.Repeat("x", 4000), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			svg, err := QRCodeSVG(tc.text)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				XMLName xml.Name `xml:"svg"`
				ViewBox string   `xml:"viewBox,attr"`
				Path    struct {
					D string `xml:"d,attr"`
				} `xml:"path"`
			}
			if err := xml.Unmarshal(svg, &doc); err != nil {
				t.Fatalf("not well-formed SVG: %v", err)
			}
			var w, h int
			if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %d %d", &w, &h); err != nil || w != h {
				t.Fatalf("viewBox %q: want a square", doc.ViewBox)
			}
			// A QR code of version v is 17+4v modules, plus a 4-module quiet
			// zone on each side.
			if side := w - 8; side < 21 || (side-17)%4 != 0 {
				t.Errorf("%d modules a side without the quiet zone: not a QR code size", side)
			}
			// The three finder patterns: their 7×7 dark corners at (4,4),
			// (w-11,4), (4,w-11).
			for _, at := range [][2]int{{4, 4}, {w - 11, 4}, {4, w - 11}} {
				if m := fmt.Sprintf("M%d %dh1v1h-1z", at[0], at[1]); !strings.Contains(doc.Path.D, m) {
					t.Errorf("no finder pattern corner at %v", at)
				}
			}
		})
	}
}
