package bot

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
)

// TestSplitMrkdwn: every piece fits, nothing is lost, and no piece ends
// inside markup or leaves a code block or quote open.
func TestSplitMrkdwn(t *testing.T) {
	t.Parallel()
	mention := strings.Repeat("see <@U0123456789> ", 300)
	tests := []struct {
		name  string
		text  string
		check func(t *testing.T, i int, piece string)
	}{
		{"mentions", mention, func(t *testing.T, _ int, p string) {
			require.Equal(t, strings.Count(p, "<"), strings.Count(p, ">"), "no mention is split: %q", p[len(p)-20:])
		}},
		{"entities", strings.Repeat("a&amp;b", 1000), func(t *testing.T, _ int, p string) {
			require.NotRegexp(t, `&[a-z]*$`, p)
			require.NotRegexp(t, `^[a-z]*;`, p)
		}},
		{"code block", "```" + strings.Repeat("line of code\n", 600) + "```", func(t *testing.T, _ int, p string) {
			require.True(t, strings.HasPrefix(p, "```") && strings.HasSuffix(p, "```"), "each piece is a whole code block")
		}},
		{"quote", "*Draft*\n>>> " + strings.Repeat("words ", 1200), func(t *testing.T, i int, p string) {
			if i > 0 {
				require.True(t, strings.HasPrefix(p, ">>> "))
			}
		}},
		{"emoji, no spaces", strings.Repeat("🔥ü", 4000), func(t *testing.T, _ int, p string) {
			require.True(t, utf8.ValidString(p))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pieces := splitMrkdwn(tt.text, maxTextObject)
			require.Greater(t, len(pieces), 1)
			var all strings.Builder
			for i, p := range pieces {
				require.LessOrEqual(t, utf8.RuneCountInString(p), maxTextObject)
				tt.check(t, i, p)
				all.WriteString(p)
			}
			strip := strings.NewReplacer(" ", "", "\n", "", "`", "", ">>>", "")
			require.Equal(t, strip.Replace(tt.text), strip.Replace(all.String()), "nothing is lost")
		})
	}
	require.Equal(t, []string{"short"}, splitMrkdwn("short", maxTextObject))
}

// TestCommsDraftsShowWhole: "/incident comms" shows a draft longer than a
// section holds whole, over several sections each a code block to copy,
// rather than cut at 2900 characters.
func TestCommsDraftsShowWhole(t *testing.T) {
	f := newChgFixture(t, incident.P1)
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
	cfg := withService(Config{Slack: api, Scheduler: f.queue, Replays: f.store, Clock: f.clock, SigningSecret: testSigningSecret}, f.svc, f.store, f.chat)
	var email strings.Builder
	for i := 0; email.Len() < 7000; i++ {
		fmt.Fprintf(&email, "Line %d: orders & refunds <EU> were delayed.\n", i)
	}
	cfg.Comms = draftsStub{CommsService: cfg.Comms, drafts: []comms.Draft{
		{Title: "Status page", Text: "We fixed it."},
		{Title: "Customer e-mail", Text: email.String()},
	}}
	r := chi.NewRouter()
	New(cfg).Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	reply, err := slackfake.NewDriver(f.srv, testSigningSecret).SlashCommand(context.Background(), srv.URL+"/slack/commands",
		slack.SlashCommand{Command: "/incident", Text: "comms", UserID: f.ic.ID, ChannelID: f.inc.ChannelID})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reply.StatusCode)
	require.Empty(t, reply.MessageProblem, "Slack accepts the reply")
	var got struct {
		Blocks []struct {
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	require.NoError(t, reply.JSON(&got))
	var shown []string
	for _, b := range got.Blocks[1:] {
		require.NotNil(t, b.Text)
		text := b.Text.Text
		require.NotContains(t, text, "…", "nothing is cut")
		require.True(t, strings.HasSuffix(text, "```"), "each section closes its code block")
		_, code, ok := strings.Cut(text, "```")
		require.True(t, ok)
		shown = append(shown, strings.TrimSuffix(code, "```"))
	}
	want := Escape(strings.TrimSpace(email.String()))
	require.Contains(t, strings.Join(shown, "\n"), want, "the whole e-mail is shown")
}
