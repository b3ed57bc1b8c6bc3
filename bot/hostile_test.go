package bot

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// slackSequence matches a control sequence of Slack's mrkdwn: what starts
// with "<" and ends with ">".
var slackSequence = regexp.MustCompile(`<[^>]*>?`)

// requireOnlyOwnMarkup fails when text holds a "<" that does not open a
// mention, a channel link, a user group, a date or a web link the bot wrote:
// Slack reads every "<…>" as a control sequence, so what a person typed
// (and a usage's <placeholder>) must reach it as &lt;…&gt;
// (https://api.slack.com/reference/surfaces/formatting#escaping).
func requireOnlyOwnMarkup(t *testing.T, text string) {
	t.Helper()
	for _, seq := range slackSequence.FindAllString(text, -1) {
		ok := regexp.MustCompile(`^<(@[UW][A-Z0-9]+|#C[A-Z0-9]+|!subteam\^[A-Z0-9]+|!date\^[^>]+|https?://[^ >]+)>$`).MatchString(seq)
		require.True(t, ok, "%q is markup the bot did not mean, in %q", seq, text)
	}
}

// TestRepliesEscapeWhatTheyEcho: a reply that repeats what the person typed,
// or shows a usage with <placeholders>, escapes it, so it reads as typed and
// no mention, link or broadcast is made of it.
func TestRepliesEscapeWhatTheyEcho(t *testing.T) {
	tr := newTransport(t)
	in, general := tr.inc.ChannelID, "C0GENERAL"
	tests := []struct {
		name, channel, text string
		want                []string
	}{
		{name: "help", channel: general, text: "help", want: []string{"declare [P1] [--private] [--service=&lt;key&gt;] [--drill] &lt;title&gt;", "update &lt;what we know"}},
		{name: "usage after an error", channel: general, text: "declare P1 --loud<!channel> x", want: []string{"--loud&lt;!channel&gt;", "Usage: `/incident declare [P1] [--private] [--service=&lt;key&gt;] [--drill] &lt;title&gt;`"}},
		{name: "unknown subcommand", channel: general, text: "<!here>&co", want: []string{"`/incident &lt;!here&gt;&amp;co`"}},
		{name: "unknown severity", channel: in, text: "severity <!channel>", want: []string{`Unknown severity "&lt;!channel&gt;"`}},
		{name: "not a user", channel: in, text: "ic <!everyone>", want: []string{`"&lt;!everyone&gt;" is not a Slack user`}},
		{name: "unknown role", channel: in, text: "role <!channel> <@" + tr.other.ID + ">", want: []string{"&lt;!channel&gt;"}},
		{name: "unknown service", channel: general, text: "declare P1 --service=<#C0GENERAL> title", want: []string{"&lt;#C0GENERAL&gt;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tr.command(t, tr.ic.ID, tt.channel, tt.text)
			require.Equal(t, http.StatusOK, r.StatusCode, string(r.Body))
			var reply Reply
			require.NoError(t, r.JSON(&reply))
			requireOnlyOwnMarkup(t, reply.Text)
			for _, w := range tt.want {
				require.Contains(t, reply.Text, w)
			}
		})
	}

	// A refusal still mentions who can.
	r := tr.command(t, tr.other.ID, in, "severity P3")
	var reply Reply
	require.NoError(t, r.JSON(&reply))
	requireOnlyOwnMarkup(t, reply.Text)
	require.Contains(t, reply.Text, "<@"+tr.ic.ID+">")
	require.False(t, strings.Contains(reply.Text, "&lt;@"), reply.Text)
}

// TestUserMrkdwn: an error's sentence is escaped once, the people it names
// stay mentions, and text the person typed cannot pose as one.
func TestUserMrkdwn(t *testing.T) {
	t.Parallel()
	err := incident.Errorf(incident.ECONFLICT, "%s: %s approved it.", "<!here> & more", incident.User("U0BOB"))
	require.Equal(t, "&lt;!here&gt; &amp; more: <@U0BOB> approved it.", userMrkdwn(err))
	forged := incident.Errorf(incident.ECONFLICT, "%s by %s.", "x\x000\x00", incident.User("U0BOB"))
	require.Equal(t, "x0 by 0.", userMrkdwn(forged))
	require.Equal(t, "Unknown role &lt;x&gt;.", userMrkdwn(incident.Errorf(incident.EINVALID, "Unknown role %s.", "<x>")))
}
