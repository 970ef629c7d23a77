package firewall_test

import (
	"encoding/json"
	"fmt"

	"github.com/dpc-go/dpc/host/internal/firewall"
)

type contactList []string

func (c contactList) IsContact(node string) bool {
	for _, n := range c {
		if n == node {
			return true
		}
	}
	return false
}

func Example() {
	const friend = "dpc-node-0123456789abcdef0123456789abcdef"
	rules, err := firewall.Parse([]byte(`
group "friends" {
  members = ["`+friend+`"]
}
rule "group" "contacts" {
  allow = ["messages", "files", "history"]
}
rule "group" "friends" {
  allow = ["context:profile.name", "context:knowledge.cooking.*"]
  deny  = ["context:knowledge.cooking.secret"]
}
`), "firewall.hcl")
	if err != nil {
		fmt.Println(err)
		return
	}
	contacts := contactList{friend}
	for _, res := range []string{"messages", "compute", "context:profile", "context:knowledge.cooking.pasta"} {
		d := rules.Check(friend, res, contacts)
		fmt.Printf("%s: %v by %s\n", res, d.Allowed, d.Rule)
	}

	doc := map[string]any{
		"profile":   map[string]any{"name": "Alice", "email": "alice@example.org"},
		"knowledge": map[string]any{"cooking": map[string]any{"pasta": "boil", "secret": "butter"}},
	}
	shared, _ := json.Marshal(rules.Filter(friend, contacts, doc))
	fmt.Println(string(shared))
	// Output:
	// messages: true by firewall.hcl:6:12: rule "group" "contacts" allow "messages"
	// compute: false by default deny: no rule matches
	// context:profile: false by default deny: no rule matches
	// context:knowledge.cooking.pasta: true by firewall.hcl:9:36: rule "group" "friends" allow "context:knowledge.cooking.*"
	// {"knowledge":{"cooking":{"pasta":"boil"}},"profile":{"name":"Alice"}}
}
