package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzMux serves the editors' routes for a fuzz target, without a server:
// the bodies come from a browser, so any bytes must get a 200 or a 400
// (or 409) with a JSON answer, never a panic or a 500.
func fuzzMux(f *testing.F) *http.ServeMux {
	f.Helper()
	_, pc, fw, r := editFixture(f)
	mux := http.NewServeMux()
	ContextFileRoutes(pc)(mux)
	FirewallEditRoutes(fw, r)(mux)
	return mux
}

func checkAnswer(t *testing.T, mux *http.ServeMux, method, path, body string) {
	t.Helper()
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
	switch w.Code {
	case http.StatusOK, http.StatusBadRequest, http.StatusConflict:
	default:
		t.Fatalf("%s %s %q: status %d %s", method, path, body, w.Code, w.Body)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("%s %s %q: answer is not JSON: %q", method, path, body, w.Body)
	}
}

func FuzzContextEdit(f *testing.F) {
	mux := fuzzMux(f)
	for _, s := range []string{`{"text": "{}", "dry_run": true}`, `{"text": "{\"profile\": {\"name\": 5}}", "dry_run": true}`,
		`{"text": "[", "dry_run": true}`, `{"text": 5}`, `nope`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		// Dry runs only: a fuzzer saving over the file would make every
		// later input a conflict.
		var e map[string]any
		if json.Unmarshal([]byte(body), &e) == nil && e != nil {
			e["dry_run"] = true
			b, _ := json.Marshal(e)
			body = string(b)
		}
		checkAnswer(t, mux, http.MethodPut, "/v1/context", body)
	})
}

func FuzzFirewallPreview(f *testing.F) {
	mux := fuzzMux(f)
	f.Add(bobID, bobMaySeeCooking)
	f.Add(bobID, "rule \"group\" \"x\" {}")
	f.Add("dpc-node-", "{")
	f.Fuzz(func(t *testing.T, peer, rules string) {
		b, _ := json.Marshal(PreviewRequest{Peer: peer, Rules: &rules})
		checkAnswer(t, mux, http.MethodPost, "/v1/firewall/preview", string(b))
		b, _ = json.Marshal(FirewallEdit{Text: rules, DryRun: true})
		checkAnswer(t, mux, http.MethodPut, "/v1/firewall/rules", string(b))
	})
}
