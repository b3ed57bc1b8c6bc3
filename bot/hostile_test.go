package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
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

// formErrors decodes a view_submission's answer: the errors it names by
// block id, nil when the form was accepted.
func formErrors(t *testing.T, r *slackfake.Reply) map[string]string {
	t.Helper()
	if len(strings.TrimSpace(string(r.Body))) == 0 {
		return nil
	}
	var resp slack.ViewSubmissionResponse
	require.NoError(t, r.JSON(&resp))
	require.Equal(t, slack.RAErrors, resp.ResponseAction)
	return resp.Errors
}

// TestFormErrorsNameTheFieldAtFault: a form submitted with a field over the
// length the form allows (Slack's client stops it, a forged or altered
// submission does not) or missing what another answer needs is answered
// with response_action errors on that field, so the person fixes that
// field and nothing is recorded.
func TestFormErrorsNameTheFieldAtFault(t *testing.T) {
	tr := newTransport(t)
	long := func(n int) string { return strings.Repeat("é", n) }
	text := func(block, v string) map[string]slack.BlockAction {
		return map[string]slack.BlockAction{block: {Value: v}}
	}

	t.Run("declare", func(t *testing.T) {
		tr.command(t, tr.other.ID, "C0GENERAL", "declare")
		v := tr.openedView(t, ViewDeclare)
		errs := formErrors(t, tr.submit(t, tr.other.ID, v, map[string]map[string]slack.BlockAction{
			blockTitle:       text(blockTitle, "search is slow"),
			blockSeverity:    {blockSeverity: {SelectedOption: slack.OptionBlockObject{Value: "P3"}}},
			blockDescription: text(blockDescription, long(3001)),
		}))
		require.Len(t, errs, 1, errs)
		require.Contains(t, errs[blockDescription], "3000")
	})

	t.Run("update", func(t *testing.T) {
		tr.click(t, tr.ic.ID, ActionPostUpdate)
		v := tr.openedView(t, ViewUpdate)
		before := tr.incident(t).LastUpdateAt
		errs := formErrors(t, tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
			blockUpdateKnown: text(blockUpdateKnown, "Payments fail for 4% of users."),
			blockUpdateDoing: text(blockUpdateDoing, long(1401)),
		}))
		require.Len(t, errs, 1, errs)
		require.Contains(t, errs[blockUpdateDoing], "1400")
		require.Equal(t, before, tr.incident(t).LastUpdateAt)
	})

	t.Run("resolve", func(t *testing.T) {
		for name, tt := range map[string]struct {
			values map[string]map[string]slack.BlockAction
			block  string
		}{
			"summary too long": {map[string]map[string]slack.BlockAction{blockSummary: text(blockSummary, long(3001))}, blockSummary},
			"notes too long":   {map[string]map[string]slack.BlockAction{blockNotes: text(blockNotes, long(2001))}, blockNotes},
			"smoke test without its tester": {map[string]map[string]slack.BlockAction{
				blockChecks: {blockChecks: {SelectedOptions: []slack.OptionBlockObject{{Value: checkSmoke}}}}}, blockSmokeTester},
		} {
			t.Run(name, func(t *testing.T) {
				tr.click(t, tr.ic.ID, ActionResolve)
				v := tr.openedView(t, ViewResolve)
				errs := formErrors(t, tr.submit(t, tr.ic.ID, v, tt.values))
				require.Len(t, errs, 1, errs)
				require.Contains(t, errs, tt.block)
				require.NotEqual(t, incident.StatusResolved, tr.incident(t).Status)
			})
		}
	})
}

// TestFormsOpenOnlyForWhoMaySubmitThem: a button that opens a form is
// refused at the click, privately and saying who can, when the form's
// submission would be refused: the leads' forms (roles, severity, resolve)
// for someone else, and any form of a closed incident, whose old messages
// keep their buttons. Nobody fills in a form only to be told no.
func TestFormsOpenOnlyForWhoMaySubmitThem(t *testing.T) {
	tr := newTransport(t)
	refused := func(t *testing.T, user, action, want string) {
		t.Helper()
		before := len(tr.srv.OpenViews())
		r := tr.click(t, user, action)
		require.Equal(t, before, len(tr.srv.OpenViews()), "%s opened a form", action)
		posts := tr.srv.ResponsePosts(r.ResponseURL)
		require.Equal(t, 1, len(posts), action)
		require.Contains(t, posts[0].Text, want, action)
	}
	for _, action := range []string{ActionAssignRoles, ActionChangeSeverity, ActionResolve} {
		refused(t, tr.other.ID, action, "<@"+tr.ic.ID+">")
	}
	// Anyone working the incident may post an update; the IC opens the
	// leads' forms.
	for _, action := range []string{ActionPostUpdate, ActionResolve} {
		before := len(tr.srv.OpenViews())
		tr.click(t, tr.ic.ID, action)
		require.Equal(t, before+1, len(tr.srv.OpenViews()), action)
	}

	ctx := context.Background()
	_, err := tr.svc.SetStatus(ctx, tr.inc.ID, incident.StatusResolved, tr.ic.ID, "rolled back")
	require.NoError(t, err)
	_, err = tr.svc.SetStatus(ctx, tr.inc.ID, incident.StatusClosed, tr.ic.ID, "")
	require.NoError(t, err)
	for _, action := range []string{ActionAssignRoles, ActionChangeSeverity, ActionResolve, ActionPostUpdate} {
		refused(t, tr.ic.ID, action, "closed")
	}
}

// draftsStub answers the comms drafts a test gives.
type draftsStub struct {
	CommsService
	drafts []comms.Draft
}

func (s draftsStub) Comms(context.Context, int64) ([]comms.Draft, error) { return s.drafts, nil }

// TestCommsDraftsShowAsWritten: the comms drafts quote what responders
// typed (the resolution summary, the latest update); "/incident comms"
// shows them as written, markup and all, within Slack's 3000 characters a
// section.
func TestCommsDraftsShowAsWritten(t *testing.T) {
	f := newChgFixture(t, incident.P1)
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
	cfg := withService(Config{Slack: api, Scheduler: f.queue, Replays: f.store, Clock: f.clock, SigningSecret: testSigningSecret}, f.svc, f.store, f.chat)
	cfg.Comms = draftsStub{CommsService: cfg.Comms, drafts: []comms.Draft{
		{Title: "Status page", Text: "We fixed <!channel> & <https://evil.example|this>."},
		{Title: "Customer e-mail", Text: strings.Repeat("a&b ", 800)},
	}}
	r := chi.NewRouter()
	New(cfg).Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	reply, err := slackfake.NewDriver(f.srv, testSigningSecret).SlashCommand(context.Background(), srv.URL+"/slack/commands",
		slack.SlashCommand{Command: "/incident", Text: "comms", UserID: f.ic.ID, ChannelID: f.inc.ChannelID})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reply.StatusCode)
	require.Empty(t, reply.MessageProblem)
	var got struct {
		Text   string `json:"text"`
		Blocks []struct {
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	require.NoError(t, reply.JSON(&got))
	requireOnlyOwnMarkup(t, got.Text)
	require.Contains(t, got.Text, "We fixed &lt;!channel&gt; &amp; &lt;https://evil.example|this&gt;.")
	for _, b := range got.Blocks {
		if b.Text != nil {
			requireOnlyOwnMarkup(t, b.Text.Text)
		}
	}
}

func TestClipEscaped(t *testing.T) {
	t.Parallel()
	require.Equal(t, "a &amp; b", clipEscaped("a &amp; b", 9))
	require.Equal(t, "a …", clipEscaped("a &amp; b", 6))
	require.Equal(t, "a &amp;…", clipEscaped("a &amp; b", 8))
	require.Equal(t, "abc…", clipEscaped("abcdef", 4))
}

// TestLongCommsReplyOverSocketMode: "/incident comms" with long drafts is a
// reply of more than Socket Mode's 20 KB, which Slack drops from an
// acknowledgement (and slack-go will not send). The command is acknowledged
// empty and the whole reply reaches the user through its response_url.
func TestLongCommsReplyOverSocketMode(t *testing.T) {
	f := newChgFixture(t, incident.P1)
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()), slack.OptionAppLevelToken(f.srv.AppToken()))
	cfg := withService(Config{Slack: api, Scheduler: f.queue, Replays: f.store, Clock: f.clock, SigningSecret: testSigningSecret}, f.svc, f.store, f.chat)
	long := strings.Repeat("The checkout service answered errors to some customers; ", 100)
	cfg.Comms = draftsStub{CommsService: cfg.Comms, drafts: []comms.Draft{
		{Title: "Status page", Text: long}, {Title: "Customer e-mail", Text: long},
		{Title: "Internal update", Text: long}, {Title: "Executive summary", Text: long},
	}}
	h := New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	done := make(chan error, 1)
	go func() { done <- h.RunSocketMode(ctx, api) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	driver := slackfake.NewDriver(f.srv, testSigningSecret)
	reply, err := driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "comms", UserID: f.ic.ID, ChannelID: f.inc.ChannelID})
	require.NoError(t, err, "acknowledged")
	require.Empty(t, reply.Body, "an empty acknowledgement")
	posts, err := f.srv.WaitResponsePosts(ctx, reply.ResponseURL, 1)
	require.NoError(t, err)
	require.Empty(t, posts[0].Error)
	require.Greater(t, len(posts[0].Body), 20*1024, "the whole reply")
	require.Contains(t, string(posts[0].Blocks), "Executive summary", "the last draft too")
	require.Equal(t, "ephemeral", posts[0].ResponseType)
}
