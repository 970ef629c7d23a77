package api

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/firewall"
)

// bobMaySeeCooking is firewall.hcl once Alice lets her contacts see her
// cooking knowledge too.
const bobMaySeeCooking = `rule "group" "contacts" {
  allow = ["messages", "context:profile.name", "context:knowledge.cooking"]
}
rule "scope" "default" {
  allow = ["context:*"]
}
`

// TestFirewallEditorRoutes: PUT /v1/firewall/rules saves rules that parse,
// over the version the edit started from, and they decide the very next
// request; anything else is refused with what was wrong and where.
func TestFirewallEditorRoutes(t *testing.T) {
	t.Parallel()
	broken, err := os.ReadFile(filepath.Join("testdata", "firewall-broken.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		edit      func(hash string) FirewallEdit
		meanwhile string // written to the file after the GET
		want      int
		wantIn    string
		wantDiag  *Diagnostic
		wantSaved bool
	}{
		"an edit of the current version": {edit: func(h string) FirewallEdit { return FirewallEdit{Text: bobMaySeeCooking, Hash: h} },
			want: http.StatusOK, wantSaved: true},
		"a dry run saves nothing": {edit: func(h string) FirewallEdit { return FirewallEdit{Text: bobMaySeeCooking, Hash: h, DryRun: true} },
			want: http.StatusOK},
		"the file changed meanwhile": {edit: func(h string) FirewallEdit { return FirewallEdit{Text: bobMaySeeCooking, Hash: h} },
			meanwhile: "# edited in a terminal\n", want: http.StatusConflict, wantIn: "load it again and redo the edit"},
		"a hash of no version": {edit: func(string) FirewallEdit { return FirewallEdit{Text: bobMaySeeCooking, Hash: "0123"} },
			want: http.StatusConflict, wantIn: "changed since this edit started"},
		"a resource that does not exist, with its line and column": {edit: func(h string) FirewallEdit { return FirewallEdit{Text: string(broken), Hash: h} },
			want: http.StatusBadRequest, wantIn: "Invalid resource",
			wantDiag: &Diagnostic{Line: 2, Column: 24, Message: `Invalid resource: "contxt:profile.name" is not a resource`}},
		"HCL that does not parse": {edit: func(h string) FirewallEdit {
			return FirewallEdit{Text: "rule \"group\" \"contacts\" {\n  allow = [\n", Hash: h}
		},
			want: http.StatusBadRequest, wantDiag: &Diagnostic{Line: 3, Column: 1, Message: "Missing expression"}},
		"a dry run of a broken text": {edit: func(h string) FirewallEdit {
			return FirewallEdit{Text: "rule \"group\" \"friends\" {}\n", Hash: h, DryRun: true}
		},
			want: http.StatusBadRequest, wantDiag: &Diagnostic{Line: 1, Column: 14, Message: "Undeclared group"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := newEditNode(t)
			var file FirewallFile
			if code := n.call(t, http.MethodGet, "/v1/firewall/rules", "", &file); code != http.StatusOK || !strings.Contains(file.Text, "context:profile.name") || file.Hash == "" {
				t.Fatalf("GET /v1/firewall/rules: %d %+v", code, file)
			}
			path := filepath.Join(n.dir, "firewall.hcl")
			if tc.meanwhile != "" {
				if err := os.WriteFile(path, []byte(file.Text+tc.meanwhile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.ReadFile(path)
			var got struct {
				FirewallFile
				Diagnostics []Diagnostic `json:"diagnostics"`
			}
			code := n.call(t, http.MethodPut, "/v1/firewall/rules", jsonBody(t, tc.edit(file.Hash)), &got)
			if code != tc.want {
				t.Fatalf("PUT /v1/firewall/rules: %d, want %d (%+v)", code, tc.want, got)
			}
			if !strings.Contains(got.Error, tc.wantIn) {
				t.Errorf("error %q, want it to say %q", got.Error, tc.wantIn)
			}
			if d := tc.wantDiag; d != nil {
				if len(got.Diagnostics) == 0 || got.Diagnostics[0].Line != d.Line || d.Column != 0 && got.Diagnostics[0].Column != d.Column ||
					!strings.Contains(got.Diagnostics[0].Message, d.Message) {
					t.Errorf("diagnostics %+v, want the first at %d:%d saying %q", got.Diagnostics, d.Line, d.Column, d.Message)
				}
			}
			mayCook := n.fw.Rules().Check(bobID, "context:knowledge.cooking", contactSet{bobID}).Allowed
			after, _ := os.ReadFile(path)
			if !tc.wantSaved {
				if string(after) != string(before) {
					t.Errorf("the file changed:\n%s", after)
				}
				if mayCook {
					t.Error("a refused edit is in force")
				}
				return
			}
			if !mayCook {
				t.Error("the saved rules are not in force right after the PUT")
			}
			if string(after) != bobMaySeeCooking || got.Text != bobMaySeeCooking || got.Hash == file.Hash {
				t.Errorf("file %q, answer %+v: want the edit saved under a new hash", after, got.FirewallFile)
			}
		})
	}
}

// TestFirewallPreviewIsWhatThePeerGets: the preview of unsaved rules is
// exactly what the node sends the peer once they are saved (the same
// code computes both), and bad input is refused with what was wrong.
func TestFirewallPreviewIsWhatThePeerGets(t *testing.T) {
	t.Parallel()
	unsaved := bobMaySeeCooking
	tests := map[string]struct {
		req        PreviewRequest
		want       int
		wantIn     string
		wantPaths  []string
		wantAllows []string // of the plain resources
	}{
		"the rules in force": {req: PreviewRequest{Peer: bobID}, want: http.StatusOK,
			wantPaths: []string{"profile.name"}, wantAllows: []string{"messages"}},
		"unsaved rules": {req: PreviewRequest{Peer: bobID, Rules: &unsaved}, want: http.StatusOK,
			wantPaths: []string{"knowledge.cooking", "profile.name"}, wantAllows: []string{"messages"}},
		"a stranger under the unsaved rules": {req: PreviewRequest{Peer: "dpc-node-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", Rules: &unsaved},
			want: http.StatusOK, wantPaths: []string{}, wantAllows: []string{}},
		"no peer":                      {req: PreviewRequest{Rules: &unsaved}, want: http.StatusBadRequest, wantIn: `"peer" "" is not a node_id`},
		"a peer that is not a node_id": {req: PreviewRequest{Peer: "bob"}, want: http.StatusBadRequest, wantIn: "is not a node_id"},
		"broken rules": {req: PreviewRequest{Peer: bobID, Rules: ptr("rule \"node\" \"bob\" {}\n")}, want: http.StatusBadRequest,
			wantIn: "firewall.hcl:1:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := newEditNode(t)
			var got struct {
				PeerPreview
				Error       string       `json:"error"`
				Diagnostics []Diagnostic `json:"diagnostics"`
			}
			code := n.call(t, http.MethodPost, "/v1/firewall/preview", jsonBody(t, tc.req), &got)
			if code != tc.want {
				t.Fatalf("preview: %d, want %d (%+v)", code, tc.want, got)
			}
			if !strings.Contains(got.Error, tc.wantIn) {
				t.Errorf("error %q, want it to say %q", got.Error, tc.wantIn)
			}
			if code != http.StatusOK {
				return
			}
			if !reflect.DeepEqual(got.Paths, tc.wantPaths) {
				t.Errorf("paths %v, want %v", got.Paths, tc.wantPaths)
			}
			allows := []string{}
			for _, a := range got.Resources {
				if a.Allowed {
					allows = append(allows, a.Resource)
				}
			}
			if len(got.Resources) != len(firewall.PlainResources()) || !reflect.DeepEqual(allows, tc.wantAllows) {
				t.Errorf("resources %+v, want exactly %v allowed", got.Resources, tc.wantAllows)
			}
			if strings.Contains(jsonBody(t, got.Context), "penicillin") || strings.Contains(jsonBody(t, got.Context), "alice@example.org") {
				t.Errorf("the preview shows what no rule shares: %v", got.Context)
			}
			// Save the previewed rules: what the peer is sent is the preview.
			if tc.req.Rules != nil {
				_, v, _ := n.fw.File()
				if err := n.fw.Write([]byte(*tc.req.Rules), v); err != nil {
					t.Fatal(err)
				}
			}
			sent, _ := n.responder.ContextFor(tc.req.Peer)
			if jsonBody(t, sent) != jsonBody(t, got.Context) {
				t.Errorf("previewed %s\nbut the peer is sent %s", jsonBody(t, got.Context), jsonBody(t, sent))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestBrowserCannotEditTheFirewallFromAnotherOrigin: a page of another
// origin in the logged-in browser cannot save firewall rules.
func TestBrowserCannotEditTheFirewallFromAnotherOrigin(t *testing.T) {
	t.Parallel()
	n := newEditNode(t)
	browser := loggedIn(t, n.dir)
	_, hash, err := n.fw.File()
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, "http://"+n.addr+"/v1/firewall/rules",
		strings.NewReader(jsonBody(t, FirewallEdit{Text: bobMaySeeCooking, Hash: hash})))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "http://127.0.0.1:1")
	req.Header.Set("Sec-Fetch-Site", "same-site")
	for _, c := range browser.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("PUT from another origin: %d, want 403", res.StatusCode)
	}
	if text, _, _ := n.fw.File(); string(text) == bobMaySeeCooking || n.fw.Rules().Check(bobID, "context:knowledge.cooking", contactSet{bobID}).Allowed {
		t.Error("a page of another origin changed the firewall")
	}
}
