package firewall

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// testRules is the file most Check tests run against. alice and bob are
// friends, bob is also family, carol is at work.
const testRules = `group "friends" {
  members = [
    "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "dpc-node-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
  ]
}
group "family" { members = ["dpc-node-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"] }
group "work" { members = ["dpc-node-cccccccccccccccccccccccccccccccc"] }

rule "group" "contacts" {
  allow = ["messages", "files", "history"]
}
rule "group" "friends" {
  allow = ["context:profile.name", "context:knowledge.cooking.*", "channel_invites"]
  deny  = ["context:profile.email"]
  files {
    max_size_mb   = 10
    allowed_types = ["image/*"]
  }
}
rule "group" "family" {
  allow = ["context:profile", "files"]
  deny  = ["channel_invites", "context:profile.phone"]
  files {
    max_size_mb = 100
  }
}
rule "group" "work" {
  allow = ["context:knowledge.professional.*"]
}
rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
  allow = ["compute", "model:llama3*", "context:profile.email"]
  deny  = ["messages"]
}
rule "node" "dpc-node-cccccccccccccccccccccccccccccccc" {
  deny = ["context:*"]
}
`

func TestCheck(t *testing.T) {
	t.Parallel()
	r := mustParse(t, testRules)
	everyone := contacts{alice, bob, dave}
	tests := map[string]struct {
		node, resource string
		contacts       ContactSet
		want           bool
		wantRule       string
	}{
		// The node's own block decides when it matches.
		"node block allows": {
			node: alice, resource: "compute", contacts: everyone, want: true,
			wantRule: `test.hcl:32:12: rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" allow "compute"`,
		},
		"node block glob": {node: alice, resource: "model:llama3.1:8b", contacts: everyone, want: true,
			wantRule: `test.hcl:32:23: rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" allow "model:llama3*"`},
		"node deny beats a group allow": {node: alice, resource: "messages", contacts: everyone, want: false,
			wantRule: `test.hcl:33:12: rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" deny "messages"`},
		"node allow beats a group deny": {node: alice, resource: "context:profile.email", contacts: everyone, want: true,
			wantRule: `test.hcl:32:40: rule "node" "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" allow "context:profile.email"`},
		"node deny beats group allow on context": {node: carol, resource: "context:knowledge.professional.go", contacts: everyone, want: false,
			wantRule: `test.hcl:36:11: rule "node" "dpc-node-cccccccccccccccccccccccccccccccc" deny "context:*"`},
		"node block without a match falls to groups": {node: alice, resource: "files", contacts: everyone, want: true,
			wantRule: `test.hcl:11:24: rule "group" "contacts" allow "files"`},
		"node block without a match, no group match": {node: alice, resource: "model:mistral", contacts: everyone, want: false, wantRule: DefaultDeny},

		// Groups: deny wins among groups, else the first allowing group.
		"deny wins among groups": {node: bob, resource: "channel_invites", contacts: everyone, want: false,
			wantRule: `test.hcl:23:12: rule "group" "family" deny "channel_invites"`},
		"specific deny in one group beats allow in another": {node: bob, resource: "context:profile.email", contacts: everyone, want: false,
			wantRule: `test.hcl:15:12: rule "group" "friends" deny "context:profile.email"`},
		"first allowing group in file order": {node: bob, resource: "context:profile.name", contacts: everyone, want: true,
			wantRule: `test.hcl:14:12: rule "group" "friends" allow "context:profile.name"`},
		"whole subtree from one group": {node: bob, resource: "context:profile", contacts: everyone, want: true,
			wantRule: `test.hcl:22:12: rule "group" "family" allow "context:profile"`},
		"subtree rule covers a child": {node: bob, resource: "context:profile.address.city", contacts: everyone, want: true},
		"deny inside an allowed subtree": {node: bob, resource: "context:profile.phone", contacts: everyone, want: false,
			wantRule: `test.hcl:23:31: rule "group" "family" deny "context:profile.phone"`},
		"deny inside covers below":      {node: bob, resource: "context:profile.phone.mobile", contacts: everyone, want: false},
		"group membership is per group": {node: alice, resource: "context:profile.address", contacts: everyone, want: false, wantRule: DefaultDeny},

		// Any-depth globs and parent/child rules.
		"glob any depth":                   {node: alice, resource: "context:knowledge.cooking.pasta.recipe", contacts: everyone, want: true},
		"dot star grants the parent":       {node: alice, resource: "context:knowledge.cooking", contacts: everyone, want: true},
		"child rule does not grant parent": {node: alice, resource: "context:knowledge", contacts: everyone, want: false, wantRule: DefaultDeny},
		"name rule does not grant profile": {node: alice, resource: "context:profile", contacts: everyone, want: false, wantRule: DefaultDeny},
		"name rule covers below name":      {node: alice, resource: "context:profile.name.first", contacts: everyone, want: true},
		"glob does not reach a sibling":    {node: alice, resource: "context:knowledge.cookingclass", contacts: everyone, want: false},

		// contacts comes from the ContactSet.
		"contact may send messages":             {node: dave, resource: "messages", contacts: everyone, want: true},
		"non-contact may not send messages":     {node: carol, resource: "messages", contacts: everyone, want: false, wantRule: DefaultDeny},
		"contact set decides membership":        {node: carol, resource: "messages", contacts: contacts{carol}, want: true},
		"nil contact set has no members":        {node: dave, resource: "messages", contacts: nil, want: false, wantRule: DefaultDeny},
		"contact gets nothing else":             {node: dave, resource: "context:profile.name", contacts: everyone, want: false},
		"declared group without contacts":       {node: carol, resource: "context:knowledge.professional.go", contacts: nil, want: false},
		"declared group works without contacts": {node: bob, resource: "context:profile.name", contacts: nil, want: true},

		// Default deny.
		"stranger messages":              {node: stranger, resource: "messages", contacts: everyone, want: false, wantRule: DefaultDeny},
		"stranger context":               {node: stranger, resource: "context:profile.name", contacts: everyone, want: false, wantRule: DefaultDeny},
		"unknown resource":               {node: bob, resource: "telepathy", contacts: everyone, want: false, wantRule: DefaultDeny},
		"malformed node id":              {node: "alice", resource: "messages", contacts: everyone, want: false, wantRule: DefaultDeny},
		"empty resource":                 {node: bob, resource: "", contacts: everyone, want: false, wantRule: DefaultDeny},
		"request with a glob is literal": {node: bob, resource: "context:*", contacts: everyone, want: false, wantRule: DefaultDeny},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := r.Check(tc.node, tc.resource, tc.contacts)
			if d.Allowed != tc.want {
				t.Errorf("want %s, got %s by %s", verdict(tc.want), verdict(d.Allowed), d.Rule)
			}
			if tc.wantRule != "" && d.Rule != tc.wantRule {
				t.Errorf("want rule %s, got %s", tc.wantRule, d.Rule)
			}
			if d.Node != tc.node || d.Resource != tc.resource {
				t.Errorf("want node %q resource %q echoed, got %q %q", tc.node, tc.resource, d.Node, d.Resource)
			}
		})
	}
}

// TestSpecificity checks the best match within one rule block.
func TestBestMatch(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		allow, deny []string
		resource    string
		want        bool
		wantPattern string // "" for no match
	}{
		"more literal allow beats deny": {
			allow: []string{"context:profile.name"}, deny: []string{"context:profile"},
			resource: "context:profile.name", want: true, wantPattern: "context:profile.name",
		},
		"more literal deny beats allow": {
			allow: []string{"context:profile"}, deny: []string{"context:profile.name"},
			resource: "context:profile.name", want: false, wantPattern: "context:profile.name",
		},
		"rest of a denied subtree stays denied": {
			allow: []string{"context:profile.name"}, deny: []string{"context:profile"},
			resource: "context:profile.email", want: false, wantPattern: "context:profile",
		},
		"tie: deny wins (x.* and x are the same)": {
			allow: []string{"context:a.*"}, deny: []string{"context:a"},
			resource: "context:a.b", want: false, wantPattern: "context:a",
		},
		"tie: deny wins, deny listed first": {
			allow: []string{"context:a"}, deny: []string{"context:a.*"},
			resource: "context:a.b", want: false, wantPattern: "context:a.*",
		},
		"tie between globs: deny wins": {
			allow: []string{"model:l*"}, deny: []string{"model:*l"},
			resource: "model:ll", want: false, wantPattern: "model:*l",
		},
		"question mark is not literal": {
			allow: []string{"context:ke?"}, deny: []string{"context:k*"},
			resource: "context:key", want: true, wantPattern: "context:ke?",
		},
		"equal glob and literal counts: deny": {
			allow: []string{"context:key"}, deny: []string{"context:key*"},
			resource: "context:key", want: false, wantPattern: "context:key*",
		},
		"catch-all with an exception": {
			allow: []string{"context:*"}, deny: []string{"context:secrets"},
			resource: "context:secrets.pin", want: false, wantPattern: "context:secrets",
		},
		"catch-all outside the exception": {
			allow: []string{"context:*"}, deny: []string{"context:secrets"},
			resource: "context:hobbies", want: true, wantPattern: "context:*",
		},
		"star across dots": {
			allow: []string{"context:*.name"}, deny: []string{"context:*"},
			resource: "context:a.b.name", want: true, wantPattern: "context:*.name",
		},
		"no match": {
			allow: []string{"context:a"}, resource: "context:b", want: false,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var src strings.Builder
			src.WriteString("rule \"node\" \"" + dave + "\" {\n")
			if tc.allow != nil {
				src.WriteString("  allow = " + hclList(tc.allow...) + "\n")
			}
			if tc.deny != nil {
				src.WriteString("  deny = " + hclList(tc.deny...) + "\n")
			}
			src.WriteString("}\n")
			r := mustParse(t, src.String())
			d := r.Check(dave, tc.resource, nil)
			if d.Allowed != tc.want {
				t.Errorf("want %s, got %s by %s", verdict(tc.want), verdict(d.Allowed), d.Rule)
			}
			if tc.wantPattern == "" {
				if d.Rule != DefaultDeny {
					t.Errorf("want %s, got %s", DefaultDeny, d.Rule)
				}
			} else if !strings.HasSuffix(d.Rule, " "+verdict(tc.want)+` "`+tc.wantPattern+`"`) {
				t.Errorf("want the rule to name %s %q, got %s", verdict(tc.want), tc.wantPattern, d.Rule)
			}
		})
	}
}

func TestDefaultFile(t *testing.T) {
	t.Parallel()
	r, err := Parse([]byte(DefaultFile), "firewall.hcl")
	if err != nil {
		t.Fatalf("want DefaultFile to parse, got %v", err)
	}
	r.introduced = introduced{carol}
	tests := map[string]struct {
		node, resource string
		want           bool
	}{
		"contact messages":        {dave, Messages, true},
		"contact files":           {dave, Files, true},
		"contact history":         {dave, History, true},
		"contact profile name":    {dave, "context:profile.name", false},
		"contact whole context":   {dave, "context:profile", false},
		"contact compute":         {dave, Compute, false},
		"contact model":           {dave, "model:llama3", false},
		"contact channel invites": {dave, ChannelInvites, true},
		"contact mailbox":         {dave, Mailbox, true},
		// A node a contact vouched for is not let in by default: the
		// rule for "introduced" is commented out.
		"introduced channel invites": {carol, ChannelInvites, false},
		"introduced messages":        {carol, Messages, false},
		"stranger messages":          {stranger, Messages, false},
		"stranger files":             {stranger, Files, false},
		"stranger history":           {stranger, History, false},
		"stranger compute":           {stranger, Compute, false},
		"stranger context":           {stranger, "context:profile.name", false},
		"stranger channel invites":   {stranger, ChannelInvites, false},
		// Sealed envelopes left at the hub are a contact's right only.
		"introduced mailbox": {carol, Mailbox, false},
		"stranger mailbox":   {stranger, Mailbox, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := r.Check(tc.node, tc.resource, contacts{dave})
			if d.Allowed != tc.want {
				t.Errorf("want %s, got %s by %s", verdict(tc.want), verdict(d.Allowed), d.Rule)
			}
		})
	}
	if got := r.FileLimits(dave, contacts{dave}); got.MaxSizeBytes != 0 || got.AskAboveBytes != 100<<20 || !slices.Equal(got.AllowedTypes, []string{"*"}) {
		t.Errorf("want files of any type for contacts, asking above 100 MiB, got %+v", got)
	}
	// The commented examples must be valid too: uncomment them and parse.
	un := uncommentExamples(DefaultFile)
	ur, err := Parse([]byte(un), "uncommented.hcl")
	if err != nil {
		t.Fatalf("want the examples in DefaultFile to parse once uncommented, got %v\n%s", err, un)
	}
	if !strings.Contains(un, "max_size_mb   = 2000") || !strings.Contains(un, "ask_above_mb  = 100") || !strings.Contains(un, `group "friends"`) {
		t.Fatalf("want the files and friends examples uncommented, got\n%s", un)
	}
	friend := "dpc-node-0123456789abcdef0123456789abcdef"
	if d := ur.Check(friend, "context:profile.name", nil); !d.Allowed {
		t.Errorf("want the friends example to share the name, got %s", d.Rule)
	}
	ur.introduced = introduced{carol}
	if d := ur.Check(carol, ChannelInvites, nil); !d.Allowed {
		t.Errorf("want the introduced example to let introduced nodes invite, got %s", d.Rule)
	}
	if d := ur.Check(carol, Messages, nil); d.Allowed {
		t.Errorf("want the introduced example to allow channel invites only, got messages allowed by %s", d.Rule)
	}
	if d := ur.Check(friend, "context:profile.email", nil); d.Allowed {
		t.Errorf("want the friends example to withhold the e-mail address, got %s", d.Rule)
	}
}

// uncommentExamples removes "# " before the lines of src that are HCL in
// comments (those whose first word is a block or attribute name, or "}"),
// after the header comment.
func uncommentExamples(src string) string {
	code := regexp.MustCompile(`^(\s*)# (\s*)((group|rule|files|members|allow|deny|max_size_mb|ask_above_mb|allowed_types)\b.*|}.*)$`)
	var b strings.Builder
	header := true
	for line := range strings.Lines(src) {
		line = strings.TrimSuffix(line, "\n")
		if header && line != "" && !strings.HasPrefix(line, "#") {
			header = false
		}
		if !header {
			line = code.ReplaceAllString(line, "$1$2$3")
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func TestNilRules(t *testing.T) {
	t.Parallel()
	var r *Rules
	if d := r.Check(alice, Messages, contacts{alice}); d.Allowed || d.Rule != DefaultDeny {
		t.Errorf("want nil rules to deny by default, got %+v", d)
	}
	if got := r.Filter(alice, contacts{alice}, map[string]any{"a": 1}); got == nil || len(got) != 0 {
		t.Errorf("want an empty map, got %v", got)
	}
	if got := r.FileLimits(alice, nil); got.MaxSizeBytes != 0 || got.AskAboveBytes != DefaultAskAboveMB<<20 || !slices.Equal(got.AllowedTypes, []string{"*"}) {
		t.Errorf("want default limits, got %+v", got)
	}
}

func TestFileLimits(t *testing.T) {
	t.Parallel()
	r := mustParse(t, testRules+`
rule "node" "dpc-node-dddddddddddddddddddddddddddddddd" {
  files {
    allowed_types = ["application/pdf"]
  }
}
`)
	everyone := contacts{alice, bob, carol, dave}
	tests := map[string]struct {
		node string
		want FileLimits
	}{
		// friends does not allow "files", so its limits do not apply;
		// contacts allows files but has no files block; family has one.
		"first allowing group with a files block": {bob, FileLimits{MaxSizeBytes: 100 << 20, AskAboveBytes: 100 << 20, AllowedTypes: []string{"*"}}},
		"group not allowing files is ignored":     {alice, FileLimits{AskAboveBytes: 100 << 20, AllowedTypes: []string{"*"}}},
		"defaults":                                {carol, FileLimits{AskAboveBytes: 100 << 20, AllowedTypes: []string{"*"}}},
		"node block files wins":                   {dave, FileLimits{AskAboveBytes: 100 << 20, AllowedTypes: []string{"application/pdf"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := r.FileLimits(tc.node, everyone)
			if got.MaxSizeBytes != tc.want.MaxSizeBytes || got.AskAboveBytes != tc.want.AskAboveBytes || !slices.Equal(got.AllowedTypes, tc.want.AllowedTypes) {
				t.Errorf("want %+v, got %+v", tc.want, got)
			}
		})
	}
	// The result is a copy: changing it does not change the rules.
	l := r.FileLimits(dave, everyone)
	l.AllowedTypes[0] = "*"
	if again := r.FileLimits(dave, everyone); again.AllowedTypes[0] != "application/pdf" {
		t.Errorf("want FileLimits to return a copy, got %v after a change", again.AllowedTypes)
	}
}

func TestFileLimitsAllows(t *testing.T) {
	t.Parallel()
	images := FileLimits{MaxSizeBytes: 1 << 20, AllowedTypes: []string{"image/*", "application/pdf"}}
	tests := map[string]struct {
		limits     FileLimits
		size       int64
		mime       string
		want       bool
		wantReason string
	}{
		"wildcard type":             {images, 100, "image/png", true, ""},
		"wildcard other subtype":    {images, 100, "image/svg+xml", true, ""},
		"exact type":                {images, 100, "application/pdf", true, ""},
		"type not listed":           {images, 100, "application/zip", false, `type "application/zip" is not one of the allowed types image/*, application/pdf`},
		"wildcard is per type":      {images, 100, "imagex/png", false, "not one of the allowed types"},
		"type only, no subtype":     {images, 100, "image", false, "not one of the allowed types"},
		"empty type":                {images, 100, "", false, "not one of the allowed types"},
		"case-insensitive":          {images, 100, "Image/PNG", true, ""},
		"parameters ignored":        {images, 100, "application/pdf; name=x", true, ""},
		"exactly the limit":         {images, 1 << 20, "image/png", true, ""},
		"over the limit":            {images, 1<<20 + 1, "image/png", false, "the file is 1048577 bytes; the limit is 1048576 bytes"},
		"negative size":             {images, -1, "image/png", false, "invalid file size -1"},
		"unlimited size":            {FileLimits{AllowedTypes: []string{"*"}}, 1 << 40, "video/mp4", true, ""},
		"star matches anything":     {FileLimits{AllowedTypes: []string{"*"}}, 1, "", true, ""},
		"star slash star":           {FileLimits{AllowedTypes: []string{"*/*"}}, 1, "text/plain", true, ""},
		"zero value allows nothing": {FileLimits{}, 1, "text/plain", false, "no file types are allowed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, reason := tc.limits.Allows(tc.size, tc.mime)
			if got != tc.want {
				t.Errorf("want %v, got %v (%s)", tc.want, got, reason)
			}
			if !strings.Contains(reason, tc.wantReason) || tc.wantReason == "" && reason != "" {
				t.Errorf("want reason %q, got %q", tc.wantReason, reason)
			}
		})
	}
}

// TestLargeFileOfferAsksUser: by default an offer of more than 100 MiB
// waits for the user; ask_above_mb changes the threshold or (0) turns it
// off. Before, any file within max_size_mb (unlimited by default) was
// accepted at once, so a contact could fill the disk with one offer.
func TestLargeFileOfferAsksUser(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		files string // the contacts' files block; "" for none
		size  int64
		want  bool
	}{
		"default, small file":      {size: 1 << 20, want: false},
		"default, exactly 100 MiB": {size: 100 << 20, want: false},
		"default, one byte more":   {size: 100<<20 + 1, want: true},
		"files block without it":   {files: `max_size_mb = 1000`, size: 200 << 20, want: true},
		"lower threshold":          {files: `ask_above_mb = 1`, size: 2 << 20, want: true},
		"higher threshold":         {files: `ask_above_mb = 500`, size: 200 << 20, want: false},
		"never ask":                {files: `ask_above_mb = 0`, size: 1 << 40, want: false},
		"null is the default":      {files: `ask_above_mb = null`, size: 200 << 20, want: true},
		"empty file":               {size: 0, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := "rule \"group\" \"contacts\" {\n  allow = [\"files\"]\n"
			if tc.files != "" {
				src += "  files {\n    " + tc.files + "\n  }\n"
			}
			l := mustParse(t, src+"}\n").FileLimits(alice, contacts{alice})
			if got := l.AsksUser(tc.size); got != tc.want {
				t.Errorf("AsksUser(%d) with %+v: want %v, got %v", tc.size, l, tc.want, got)
			}
		})
	}
}
