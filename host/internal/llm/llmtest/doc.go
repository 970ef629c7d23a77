// Package llmtest has in-process LLM plugins for tests of the host: an
// [LLM] that offers fixed models and answers at once, and [Plugins], the
// llm.Plugins a Registry reads them from. It is used only by tests, like
// net/http/httptest.
package llmtest
