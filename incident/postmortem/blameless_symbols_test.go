package postmortem_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/postmortem"
)

// A unit or a symbol written with a letter of another script (µ in
// "300µs", Δ for a change, σ for a deviation) is not wording in another
// language: the draft's review notes do not ask for it to be read by hand.
// A sentence in another script still is.
func TestDraftReviewNotesReadUnitsAndSymbolsAsEnglish(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, description string
		byHand            bool
	}{
		{"micro sign", "p99 rose to 300µs after the deploy.", false},
		{"greek mu", "p99 rose to 300μs after the deploy.", false},
		{"delta", "Δ latency was 40ms per hop.", false},
		{"sigma", "Latency stayed within 3σ until the deploy.", false},
		{"japanese sentence", "決済が停止しました。", true},
		{"greek sentence", "Ο διακομιστής σταμάτησε.", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			md := cjkDraft(t, "Alice Example", c.description)
			_, notes, ok := strings.Cut(md, "## Review notes")
			require.True(t, ok, md)
			if c.byHand {
				require.Contains(t, notes, "English only", notes)
			} else {
				require.NotContains(t, notes, "English only", notes)
			}
		})
	}
}

// BlamelessCheck notes wording in another script only for a run of at
// least two of its letters: a single letter used as a unit or a symbol is
// not wording.
func TestBlamelessCheckNotesOnlyWordingInAnotherScript(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		text   string
		byHand bool
	}{
		{"p99 300µs", false},
		{"p99 300μs", false},
		{"Δ latency", false},
		{"Δ latency, σ 12ms, λ 40/s", false},
		{"µ", false},
		{"決済が停止しました。", true},
		{"The deploy failed: 回滚 was slow.", true},
		{"배포 후 롤백", true},
		{"सर्वर रुक गया", true}, // Devanagari: its vowel signs are marks, not letters
	} {
		var byHand bool
		for _, f := range postmortem.BlamelessCheck("Summary", c.text, nil) {
			if strings.Contains(f.Suggestion, "English only") {
				byHand = true
				require.Contains(t, c.text, f.Phrase, "the unchecked wording is quoted")
			}
		}
		require.Equal(t, c.byHand, byHand, c.text)
	}
}
