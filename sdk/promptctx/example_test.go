package promptctx_test

import (
	"fmt"

	"github.com/dpc-go/dpc/sdk/promptctx"
)

func ExampleRender() {
	text, err := promptctx.Render([]promptctx.Block{{
		Source:  promptctx.SourcePeer,
		Name:    `Carol "the cook"`,
		NodeID:  "dpc-node-fedcba9876543210fedcba9876543210",
		Context: map[string]any{"profile": map[string]any{"name": "Carol"}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(text)
	// Output:
	// --- CONTEXTUAL DATA ---
	// <CONTEXT source="peer" name="Carol \"the cook\"" node_id="dpc-node-fedcba9876543210fedcba9876543210">
	// {
	//   "profile": {
	//     "name": "Carol"
	//   }
	// }
	// </CONTEXT>
	// --- END OF CONTEXTUAL DATA ---
}

func ExampleParse() {
	system := `Answer using the context.
--- CONTEXTUAL DATA ---
<CONTEXT source="peer" name="Carol" node_id="dpc-node-fedcba9876543210fedcba9876543210">
{"knowledge": {"cooking": {"entries": [{"content": "Soak chickpeas overnight."}]}}}
</CONTEXT>
--- END OF CONTEXTUAL DATA ---`
	blocks, err := promptctx.Parse(system)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range blocks {
		for _, e := range promptctx.Entries(b) {
			fmt.Printf("%s | %s | %s\n", b.Label(), e.Path, e.Text)
		}
	}
	// Output:
	// Carol (dpc-node-fedcba9876543210fedcba9876543210) | knowledge.cooking.entries[0].content | Soak chickpeas overnight.
}
