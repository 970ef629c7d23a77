package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/personal"
)

const bobID = "dpc-node-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

// contactSet is a firewall.ContactSet of the node_ids listed.
type contactSet []string

func (c contactSet) IsContact(node string) bool { return slices.Contains(c, node) }

// editNode is a node's personal context and firewall, from testdata,
// served with the editors' routes.
type editNode struct {
	dir, addr, token string
	pc               *personal.File
	fw               *firewall.Engine
	responder        *intel.Responder
}

// editFixture copies testdata's personal.json and firewall.hcl into a
// fresh directory and loads them, with a responder that knows Bob.
func editFixture(tb testing.TB) (string, *personal.File, *firewall.Engine, *intel.Responder) {
	tb.Helper()
	dir := tb.TempDir()
	for _, name := range []string{"personal.json", "firewall.hcl"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	pc, err := personal.Load(filepath.Join(dir, "personal.json"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	fw, err := firewall.Load(filepath.Join(dir, "firewall.hcl"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return dir, pc, fw, &intel.Responder{Context: pc, Firewall: fw, Contacts: contactSet{bobID}, Models: llm.New(hubPlugins{}, nil)}
}

func newEditNode(t *testing.T) *editNode {
	t.Helper()
	dir, pc, fw, r := editFixture(t)
	n := &editNode{dir: dir, pc: pc, fw: fw, responder: r}
	n.addr, n.token = serveWith(t, dir, ContextFileRoutes(pc), FirewallEditRoutes(fw, r))
	return n
}

// call sends body (JSON text; "" for none) with the token and decodes the
// JSON answer into out (may be nil).
func (n *editNode) call(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+n.addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: answer %q: %v", method, path, b, err)
		}
	}
	return res.StatusCode
}

// jsonBody encodes v as a request body.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestContextEditorRoutes: PUT /v1/context saves a valid edit of the
// version it started from and puts it in force at once; anything else is
// refused with what was wrong and where, and leaves the file alone.
func TestContextEditorRoutes(t *testing.T) {
	t.Parallel()
	broken, err := os.ReadFile(filepath.Join("testdata", "personal-broken.json"))
	if err != nil {
		t.Fatal(err)
	}
	edited := func(d ContextDocument) string { return strings.Replace(d.Text, `"baker"`, `"baker and cyclist"`, 1) }
	tests := map[string]struct {
		body      func(d ContextDocument) string
		meanwhile string // set at profile.name after the GET, before the PUT
		want      int
		wantIn    string // in the error
		wantDiag  *Diagnostic
		wantSaved bool
	}{
		"an edit of the current version": {body: func(d ContextDocument) string {
			return jsonBody(t, ContextEdit{Text: edited(d), Hash: d.Hash})
		}, want: http.StatusOK, wantSaved: true},
		"a dry run checks and saves nothing": {body: func(d ContextDocument) string {
			return jsonBody(t, ContextEdit{Text: edited(d), Hash: d.Hash, DryRun: true})
		}, want: http.StatusOK},
		"the context changed meanwhile": {body: func(d ContextDocument) string {
			return jsonBody(t, ContextEdit{Text: edited(d), Hash: d.Hash})
		}, meanwhile: "Alicia", want: http.StatusConflict, wantIn: "load it again and redo the edit"},
		"no hash": {body: func(d ContextDocument) string {
			return jsonBody(t, ContextEdit{Text: edited(d)})
		}, want: http.StatusBadRequest, wantIn: `"hash" is missing`},
		"a wrong type, with its line and column": {body: func(d ContextDocument) string {
			return jsonBody(t, ContextEdit{Text: string(broken), Hash: d.Hash})
		}, want: http.StatusBadRequest, wantIn: "Wrong type",
			wantDiag: &Diagnostic{Line: 4, Column: 20, Message: "Wrong type: profile.core_values must be an array of strings, not a string."}},
		"broken JSON, with its line and column": {body: func(d ContextDocument) string {
			return jsonBody(t, ContextEdit{Text: "{\n  \"profile\": {\"name\": \"Alice\",}\n}\n", Hash: d.Hash})
		}, want: http.StatusBadRequest, wantIn: "Invalid JSON", wantDiag: &Diagnostic{Line: 2, Column: 31}},
		"a dry run of a broken text": {body: func(d ContextDocument) string {
			return jsonBody(t, ContextEdit{Text: "[1, 2]", Hash: d.Hash, DryRun: true})
		}, want: http.StatusBadRequest, wantIn: "Not an object", wantDiag: &Diagnostic{Line: 1, Column: 1}},
		"a body that is not JSON": {body: func(ContextDocument) string { return "text=hello" },
			want: http.StatusBadRequest, wantIn: "bad request body"},
		"an unknown field": {body: func(d ContextDocument) string { return `{"text": "{}", "hash": "` + d.Hash + `", "force": true}` },
			want: http.StatusBadRequest, wantIn: `unknown field "force"`},
		"a body larger than a frame": {body: func(d ContextDocument) string {
			return jsonBody(t, ContextEdit{Text: `{"profile": {"description": "` + strings.Repeat("a", maxFileBody) + `"}}`, Hash: d.Hash})
		}, want: http.StatusBadRequest, wantIn: "too large"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := newEditNode(t)
			var doc ContextDocument
			if code := n.call(t, http.MethodGet, "/v1/context", "", &doc); code != http.StatusOK {
				t.Fatalf("GET /v1/context: %d", code)
			}
			if _, inForce := n.pc.View(); doc.Hash != inForce || !strings.Contains(doc.Text, `"allergic to penicillin"`) {
				t.Fatalf("GET /v1/context: hash %.12s, want the one in force %.12s; text:\n%s", doc.Hash, inForce, doc.Text)
			}
			if tc.meanwhile != "" {
				if err := n.pc.Update(func(d map[string]any) error { return personal.Set(d, "profile.name", tc.meanwhile) }); err != nil {
					t.Fatal(err)
				}
			}
			fileBefore, _ := os.ReadFile(filepath.Join(n.dir, "personal.json"))
			var got struct {
				ContextDocument
				Diagnostics []Diagnostic `json:"diagnostics"`
			}
			code := n.call(t, http.MethodPut, "/v1/context", tc.body(doc), &got)
			if code != tc.want {
				t.Fatalf("PUT /v1/context: %d, want %d (%+v)", code, tc.want, got)
			}
			if !strings.Contains(got.Error, tc.wantIn) {
				t.Errorf("error %q, want it to say %q", got.Error, tc.wantIn)
			}
			if d := tc.wantDiag; d != nil {
				if len(got.Diagnostics) == 0 || got.Diagnostics[0].Line != d.Line || got.Diagnostics[0].Column != d.Column ||
					!strings.Contains(got.Diagnostics[0].Message, d.Message) {
					t.Errorf("diagnostics %+v, want the first at %d:%d saying %q", got.Diagnostics, d.Line, d.Column, d.Message)
				}
			}
			fileAfter, _ := os.ReadFile(filepath.Join(n.dir, "personal.json"))
			inForce, hash := n.pc.View()
			if !tc.wantSaved {
				if !bytes.Equal(fileAfter, fileBefore) {
					t.Errorf("the file changed:\n%s", fileAfter)
				}
				return
			}
			if p, _ := inForce["profile"].(map[string]any); p["description"] != "baker and cyclist" {
				t.Errorf("the context in force lacks the edit: %v", inForce["profile"])
			}
			if got.Hash != hash || !strings.Contains(got.Text, "baker and cyclist") {
				t.Errorf("the answer is not the context in force: hash %.12s, in force %.12s", got.Hash, hash)
			}
			if !bytes.Contains(fileAfter, []byte("baker and cyclist")) {
				t.Errorf("the file lacks the edit:\n%s", fileAfter)
			}
		})
	}
}
