package web

import "testing"

func TestPlainSlack(t *testing.T) {
	names := map[string]string{"U0ALICE": "Alice Example"}
	tests := []struct{ in, want string }{
		{"<@U0ALICE> declared INC-1", "@Alice Example declared INC-1"},
		{"<@U0BOB|bob> took over", "@U0BOB took over"},
		{":white_check_mark: <@U0ALICE> resolved it\n>rolled back", "@Alice Example resolved it\nrolled back"},
		{"see <https://example.com/run|the runbook> and <https://x.example>", "see the runbook and https://x.example"},
		{"in <#C0123|inc-1> for <!here>", "in #inc-1 for @here"},
		{"a &lt;b&gt; &amp; c", "a <b> & c"},
		{"plain text", "plain text"},
	}
	for _, tc := range tests {
		if got := plainSlack(tc.in, names); got != tc.want {
			t.Errorf("plainSlack(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
