package incident_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestEndSentence: one rule ends a sentence everywhere (the status page
// drafts and the chat's failure notices): a full stop unless the text
// ends a sentence already, inside closing quotes and brackets, and in
// place of a trailing comma, semicolon or colon.
func TestEndSentence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"Rolled back", "Rolled back."},
		{"Rolled back.", "Rolled back."},
		{"  Rolled back  ", "Rolled back."},
		{"It works again!", "It works again!"},
		{"Is it fixed?", "Is it fixed?"},
		{"We wait…", "We wait…"},
		{"Restoring the table now;", "Restoring the table now."},
		{"and then,", "and then."},
		{"Statuspage refused the post: body:", "Statuspage refused the post: body."},
		{"trailing colon and space: ", "trailing colon and space."},
		{`The vendor says "fixed."`, `The vendor says "fixed."`},
		{"Il a dit « réparé. »", "Il a dit « réparé. »"},
		{"(about an hour.)", "(about an hour.)"},
		{"Restoring (about an hour)", "Restoring (about an hour)."},
		{"it said ‘done.’", "it said ‘done.’"},
		{"it said “done!”", "it said “done!”"},
	} {
		require.Equal(t, tc.want, incident.EndSentence(tc.in), "EndSentence(%q)", tc.in)
	}
}
