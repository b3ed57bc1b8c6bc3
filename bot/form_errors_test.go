package bot

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

// refusedRolesForm opens the roles form as the IC, hands the IC role to
// tr.other, and submits the form the former IC still has open: the
// submission is refused on the field, with a sentence that names the new
// IC. It returns that field error.
func refusedRolesForm(t *testing.T, tr *transport) string {
	t.Helper()
	tr.click(t, tr.ic.ID, ActionAssignRoles)
	v := tr.openedView(t, ViewRoles)
	r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, "ic <@"+tr.other.ID+">")
	require.Contains(t, string(r.Body), "is now the Incident Commander")

	r = tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		"comms": {"comms": {SelectedUser: tr.roller.ID}}})
	errs := formErrors(t, r)
	require.Contains(t, errs, "comms", "the refusal is on the field at fault: %s", r.Body)
	open, ok := tr.srv.View(v.ID)
	require.True(t, ok && open.Open, "the form stays open")
	return errs["comms"]
}

// TestFormErrorsNamePeopleInPlainText: Slack shows a field error as plain
// text, so a refusal naming someone names them by their name, never by
// the "<@U…>" markup that only a message turns into a mention.
func TestFormErrorsNamePeopleInPlainText(t *testing.T) {
	t.Run("named", func(t *testing.T) {
		tr := newTransport(t)
		msg := refusedRolesForm(t, tr)
		require.Contains(t, msg, "@"+tr.other.Name, msg)
		require.NotContains(t, msg, "<@", msg)
		require.NotContains(t, msg, "<!", msg)
		require.NotContains(t, msg, tr.other.ID, "the person is named, not their id: %s", msg)
	})
	t.Run("lookup fails", func(t *testing.T) {
		tr := newTransport(t)
		tr.srv.ErrorNext("users.info", 100, "user_not_found")
		msg := refusedRolesForm(t, tr)
		require.Contains(t, msg, "@"+tr.other.ID, msg)
		require.NotContains(t, msg, "<@", msg)
	})
}

// TestPlainFieldText: every piece of Slack markup a field error may carry
// comes out as plain text; what is not markup stays as written.
func TestPlainFieldText(t *testing.T) {
	t.Parallel()
	n := &namer{}
	tests := []struct{ in, want string }{
		{"Taken by <@U0BOB>.", "Taken by @U0BOB."},
		{"Taken by <@U0BOB|bob>.", "Taken by @bob."},
		{"Say it in <#C0INC|inc-1-checkout> or <#C0GEN>.", "Say it in #inc-1-checkout or #C0GEN."},
		{"Who can: members of <!subteam^S0SRE|@sre> or <!subteam^S0OPS>.", "Who can: members of @sre or @S0OPS."},
		{"Tell <!here>.", "Tell @here."},
		{"See <https://example.com/a?b=1&amp;c=2|the runbook>.", "See the runbook (https://example.com/a?b=1&c=2)."},
		{"See <https://example.com/x>.", "See https://example.com/x."},
		{"Write to <mailto:a@example.com|a@example.com>.", "Write to a@example.com."},
		{"Due <!date^1392734382^{date}|Feb 18>.", "Due Feb 18."},
		{"p99 &gt; 2s &amp; rising &lt;fast&gt;", "p99 > 2s & rising <fast>"},
		{"Unknown role <x>.", "Unknown role <x>."},
		{"a < b and <@U0BOB> > c", "a < b and @U0BOB > c"},
		{"unclosed <@U0BOB", "unclosed <@U0BOB"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, n.plain(context.Background(), tt.in), tt.in)
	}
}

// TestFieldErrorsFitSlack: a field error is held to maxFieldError
// characters, however long the sentence.
func TestFieldErrorsFitSlack(t *testing.T) {
	t.Parallel()
	n := &namer{log: slog.New(slog.DiscardHandler)}
	errs := map[string]string{"f": strings.Repeat("é <@U0BOB> ", 400)}
	n.plainFieldErrors(context.Background(), errs)
	require.Equal(t, maxFieldError, utf8.RuneCountInString(errs["f"]))
	require.True(t, strings.HasSuffix(errs["f"], "…"))
	require.NotContains(t, errs["f"], "<@")
}
