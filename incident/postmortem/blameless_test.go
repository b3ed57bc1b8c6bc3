package postmortem_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/postmortem"
)

func TestBlamelessCheck(t *testing.T) {
	t.Parallel()
	names := []string{"Bob Martin", "Cara Díaz", "Al", "Will Turner", "Mark Chen", "Priya Natarajan", "Sam Okafor", "Grant", "Dev Patel"}
	tests := []struct {
		name string
		text string
		want []string // phrases, in order of appearance
	}{
		{"clean system language", "The deploy added a query without an index; the pool was exhausted and 503s cascaded.", nil},
		{"full name, any case", "the flag was turned on by bob martin at 13:20", []string{"bob martin"}},
		{"name with an accent", "Cara Díaz posted the status page late", []string{"Cara Díaz"}},
		{"name only on word boundaries", "Alerting and Albert are not Al", []string{"Al"}},
		{"slack mention", "Rolled back by <@U04DEV> and <@U04DEV|dev>", []string{"<@U04DEV>", "<@U04DEV|dev>"}},
		{"channel mention is not a person", "Discussed in <#C123|incidents> with <!here>", nil},
		{"should have", "The reviewer should have caught it.", []string{"should have"}},
		{"should have across a line break", "We should\n  have tested it", []string{"should have"}},
		{"typographic apostrophe", "It wasn’t anyone’s fault, it shouldn’t have shipped", []string{"'s fault", "shouldn't have"}},
		{"human error", "Root cause: Human Error.", []string{"human error"}},
		{"careless and blame", "A careless change; we blame the process", []string{"careless", "blame"}},
		{"blame is a word, not a prefix", "blameless review, blamelessly written", nil},
		{"fault of", "It was the fault of the release manager", []string{"fault of"}},
		{"negligent", "negligent handling of the alert", []string{"negligent"}},
		{"failed to after a person", "The on-call engineer failed to respond", []string{"failed to"}},
		{"failed to after a pronoun", "he failed to check the dashboard", []string{"failed to"}},
		{"failed to after a first name", "Bob failed to page the backup", []string{"Bob", "failed to"}},
		{"failed to after a mention", "<@U02BOB> failed to page the backup", []string{"<@U02BOB>", "failed to"}},
		{"failed to of a system is fine", "The health check failed to detect the stuck pool", nil},
		{"didn't bother", "Nobody didn't bother to look", []string{"didn't bother"}},
		{"forgot to", "the author forgot to add an index", []string{"forgot to"}},
		{"one finding per phrase", "should have, should have, should have", []string{"should have"}},
		{"order of appearance", "Blame: Bob Martin should have known", []string{"Blame", "Bob Martin", "should have"}},
		// A first name alone: one that is not an everyday word is a name
		// wherever it is written, but not in capitals (an acronym).
		{"first name, neutral", "Priya rolled back the deploy at 14:10", []string{"Priya"}},
		{"first name, lower case", "then priya rolled back", []string{"priya"}},
		{"first name in the full name is the full name's", "Priya Natarajan paged Priya's backup", []string{"Priya Natarajan", "Priya"}},
		{"first name in capitals is an acronym", "Deployed with SAM at 14:02; the pool filled", nil},
		{"first name with a capital", "Sam paged the DBA", []string{"Sam"}},
		// One that is an everyday word ("Will", "Mark", "Grant") is a
		// name only written capitalised next to blame wording.
		{"will, the word", "Will the deploy finish? We will know at 14:30.", nil},
		{"mark and grant, the words", "Mark the alert resolved once the queue drains, then Grant access to the replica.", nil},
		{"everyday first name before blame wording", "Will forgot to rotate the certificate.", []string{"Will", "forgot to"}},
		{"everyday first name before should have", "In hindsight Mark should have paged the DBA", []string{"Mark", "should have"}},
		{"everyday first name's fault", "It was Mark’s fault", []string{"Mark", "'s fault"}},
		{"everyday first name after blame", "They blamed Will for the outage", []string{"blamed", "Will"}},
		{"everyday first name before failed to", "Will failed to page the backup", []string{"Will", "failed to"}},
		{"everyday one-word name", "Grant failed to renew the certificate", []string{"Grant", "failed to"}},
		{"everyday first name in lower case is the word", "the rollback will mark the release bad; someone forgot to tag it", []string{"forgot to"}},
		{"everyday first name away from blame wording", "Will paged the DBA; the on-call engineer should have had an alert", []string{"should have"}},
		{"everyday first name, full name", "Will Turner rolled back the deploy", []string{"Will Turner"}},
		{"dev, the word", "Dev and staging were fine; the dev cluster too.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := postmortem.BlamelessCheck("Root cause", tt.text, names)
			var phrases []string
			for _, f := range got {
				require.Equal(t, "Root cause", f.Section)
				require.NotEmpty(t, f.Suggestion, f.Phrase)
				phrases = append(phrases, f.Phrase)
			}
			if len(tt.want) == 0 {
				require.Empty(t, phrases)
				return
			}
			// Blame phrases are reported as the list spells them.
			require.Len(t, phrases, len(tt.want))
			for i := range tt.want {
				require.True(t, strings.EqualFold(tt.want[i], phrases[i]), "finding %d: want %q, got %q", i, tt.want[i], phrases[i])
			}
		})
	}
}

func TestBlameLanguageIsWellFormed(t *testing.T) {
	t.Parallel()
	rules := postmortem.BlameLanguage()
	require.NotEmpty(t, rules)
	seen := map[string]bool{}
	for _, r := range rules {
		require.NotEmpty(t, r.Phrase)
		require.NotEmpty(t, r.Suggestion, r.Phrase)
		require.False(t, seen[r.Phrase], "%q is listed twice", r.Phrase)
		seen[r.Phrase] = true
		// Every phrase finds itself.
		text := "x " + r.Phrase + " y"
		if len(r.Subjects) > 0 {
			text = "someone " + r.Phrase + " y"
		}
		require.NotEmpty(t, postmortem.BlamelessCheck("s", text, nil), r.Phrase)
	}
	for _, must := range []string{"fault of", "should have", "careless", "human error", "blame", "negligent", "failed to", "didn't bother"} {
		require.True(t, seen[must], "the list must include %q", must)
	}
	// The returned list is a copy: changing it changes nothing.
	rules[0].Phrase = "zzz"
	require.NotEqual(t, "zzz", postmortem.BlameLanguage()[0].Phrase)
}
