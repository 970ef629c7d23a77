// Package llmlocal is the implementation of the llm-local plugin, D-PC's
// embedded default LLM. It needs no model: its one model, "retrieval",
// answers by listing the entries of the context in the prompt that best
// match the question, so a fresh install answers out of the box and its
// answers are deterministic enough to test against.
//
// # How it answers
//
// The context blocks are read with promptctx.Parse from the system messages
// (never from user or assistant messages, which the host does not vouch for)
// and flattened with promptctx.Entries. The question is the last user
// message. Both are cut into terms: lower-case runs of letters, digits and
// marks (any script), minus a short list of English stop words, with a
// the Snowball English (Porter2) stemmer for words of a-z, so that
// "recipes" finds "recipe" and "travelling" finds "travel". An entry's terms
// are those of its path (keys only, not array indices) and of its text.
//
// An entry's score is the number of distinct question terms among its terms.
// The answer lists the entries with a score above zero, best first; equal
// scores keep the order of the prompt: block by block, and within a block in
// path order (keys sorted, array elements by index). At most max_results are
// listed. Entries whose text is empty are skipped: they answer nothing.
//
// Everything printed is one line per entry: texts are folded onto one line,
// and display names and paths are made printable by promptctx, so a peer's
// context cannot forge lines of the answer.
//
// Start with Plugin, then Config for its `config {}` block.
package llmlocal
