package llmlocal

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/kljensen/snowball/english"

	"github.com/dpc-go/dpc/sdk/promptctx"
)

// Header is the first line of every answer: it says plainly that no
// language model ran.
const Header = "Answer by retrieval (llm-local: no language model ran; these are the best-matching entries of the context you were given):"

// stopWords match nearly every question and entry, so they would only add
// noise to scores. The list is fixed so that answers stay reproducible.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		a about above after again all am an and any are as at be because been
		before being below between both but by can could d did do does doing
		don down during each few for from further had has have having he her
		here hers him his how i if in into is it its just ll m me more most my
		no nor not of off on once only or other our ours out over own please re
		s same she should so some such t tell than that the their theirs them
		then there these they this those through to too under until up ve very
		was we were what when where which while who whom why will with would
		you your yours`) {
		stopWords[w] = true
	}
}

// words cuts s into lower-case runs of letters, digits and marks.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}

// terms adds the search terms of s to set: its words minus stop words,
// stemmed.
func terms(set map[string]bool, s string) {
	for _, w := range words(s) {
		if !stopWords[w] {
			set[stem(w)] = true
		}
	}
}

// stem maps the forms of an English word to one string with the Snowball
// English (Porter2) stemmer: travel, travels and travelling all become
// "travel", happy and happiness "happi". Both the question and the entries
// go through it, so the stem need not be a word. Words with letters other
// than a-z (other languages, digits) are kept as they are: the English
// rules would only mangle them.
func stem(w string) string {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return w
		}
	}
	return english.Stem(w, true)
}

// arrayIndex matches the [0] parts of a path: positions, not words.
var arrayIndex = regexp.MustCompile(`\[[0-9]+\]`)

// hit is one entry that matches the question.
type hit struct {
	block promptctx.Block
	entry promptctx.Entry
	score int
}

// search scores every entry of blocks against question and returns the
// hits, best first, ties in prompt order, and how many terms the question
// has.
func search(blocks []promptctx.Block, question string) (hits []hit, questionTerms int) {
	q := map[string]bool{}
	terms(q, question)
	if len(q) == 0 {
		return nil, 0
	}
	for _, b := range blocks {
		for _, e := range promptctx.Entries(b) {
			if promptctx.OneLine(e.Text) == "" {
				continue
			}
			et := map[string]bool{}
			terms(et, arrayIndex.ReplaceAllString(e.Path, " "))
			terms(et, e.Text)
			score := 0
			for t := range q {
				if et[t] {
					score++
				}
			}
			if score > 0 {
				hits = append(hits, hit{block: b, entry: e, score: score})
			}
		}
	}
	// Stable: equal scores keep block order, then path order.
	slices.SortStableFunc(hits, func(a, b hit) int { return b.score - a.score })
	return hits, len(q)
}

// answer returns the lines of the answer to question from blocks.
func answer(blocks []promptctx.Block, question string, maxResults int) []string {
	lines := []string{Header}
	if len(blocks) == 0 {
		return append(lines, "No context was given, so there was nothing to search.")
	}
	hits, nterms := search(blocks, question)
	if len(hits) > maxResults {
		hits = hits[:maxResults]
	}
	for _, h := range hits {
		lines = append(lines, "- "+promptctx.OneLine(h.entry.Text)+" (from "+h.block.Label()+", "+h.entry.Path+")")
	}
	if len(hits) > 0 {
		return lines
	}
	labels := make([]string, len(blocks))
	for i, b := range blocks {
		labels[i] = b.Label()
	}
	searched := "searched: " + strings.Join(labels, ", ") + "."
	if nterms == 0 {
		return append(lines, "The question has no words to search for (only common words such as \"what\" or \"the\"), so no entry was matched; "+searched)
	}
	return append(lines, "No entry of the given context matches the question; "+searched)
}
