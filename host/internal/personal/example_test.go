package personal_test

import (
	"fmt"
	"time"

	"github.com/dpc-go/dpc/host/internal/personal"
)

// What `dpc context set` does to a document: values that are JSON are
// taken as JSON, anything else as a string, and the result must still be a
// valid personal context.
func ExampleSet() {
	c, err := personal.Parse(personal.Default("alice-laptop", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), "personal.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	doc := c.Doc()
	for _, kv := range [][2]string{
		{"profile.name", "Alice"},
		{"profile.core_values", `["honesty", "curiosity"]`},
		{"knowledge.cooking.summary", "Sourdough and pasta"},
		{"profile.name", `{"first": "Alice"}`},
		{"profile.core_values.0", "kindness"},
	} {
		if err := personal.Set(doc, kv[0], kv[1]); err != nil {
			fmt.Println("error:", err)
		}
	}
	fmt.Println(doc["profile"], doc["knowledge"])
	// Output:
	// error: Wrong type: profile.name must be a string, not an object. (The value was read as JSON.)
	// error: invalid context path "profile.core_values.0": profile.core_values is an array, and paths cannot index into arrays; set the whole array as JSON, e.g. '["a", "b"]'
	// map[core_values:[honesty curiosity] description: name:Alice] map[cooking:map[summary:Sourdough and pasta]]
}
