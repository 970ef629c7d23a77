// Package promptctx is the one definition of how Personal Context Model
// documents appear in an LLM prompt. The host renders them with Render into
// the system message; an LLM plugin that wants the context as data (rather
// than as text for a model to read) gets it back with Parse.
//
// # Format
//
// Render produces one section, in the shape D-PC has always used so that
// prompts read the same:
//
//	--- CONTEXTUAL DATA ---
//	<CONTEXT source="local" name="Alice" node_id="dpc-node-0123456789abcdef0123456789abcdef">
//	{
//	  "profile": {
//	    "name": "Alice"
//	  }
//	}
//	</CONTEXT>
//	<CONTEXT source="peer" name="Carol" node_id="dpc-node-fedcba9876543210fedcba9876543210">
//	{
//	  "knowledge": {
//	    "cooking": {
//	      "entries": [
//	        {
//	          "content": "Soak chickpeas overnight."
//	        }
//	      ]
//	    }
//	  }
//	}
//	</CONTEXT>
//	--- END OF CONTEXTUAL DATA ---
//
// Every line ends with "\n". A tag carries exactly three attributes, in this
// order when rendered: source ("local" for the user's own context, "peer" for
// a contact's), name (the owner's display name, possibly empty) and node_id
// ("dpc-node-" and 32 lower-case hex digits). The body is the context
// document as a JSON object, indented by two spaces, keys sorted.
//
// # Why a hostile document cannot forge a block
//
// Display names and context documents come from peers. Two rules keep them
// inside their block:
//
//   - Attribute values are JSON string literals in which '<', '>' and '&'
//     and every character that is not printable (newlines, other control
//     characters, U+2028 and the like) are written as escapes. A tag is
//     therefore one line of printable characters with a single '<' and a
//     single '>', whatever the name contains.
//   - encoding/json writes '<' and '>' inside the body as \u003c and
//     \u003e and never emits a raw newline inside a string, so no line of a
//     body can be "</CONTEXT>", "<CONTEXT …" or a section marker: body lines
//     are "{", "}" or start with spaces.
//
// Parse is strict: inside a section only tags, bodies, blank lines and the
// end marker may appear, every attribute must be present once and valid, and
// every body must be exactly one JSON object; it tolerates only CRLF line
// ends and blanks at the end of a line. Text outside sections (the
// instructions and conversation around them) is ignored. Numbers are decoded
// as json.Number, so Render(Parse(text)) reproduces them digit for digit.
//
// Entries flattens a document into its leaves with dotted paths, for
// retrieval and for tests.
package promptctx
