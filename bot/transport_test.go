package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
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

const testSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// transport is the Slack HTTP surface of a change fixture's handler, with
// a driver that signs like Slack.
type transport struct {
	*chgFixture
	h      *Handler
	base   string
	driver *slackfake.Driver
}

func newTransport(t *testing.T) *transport {
	t.Helper()
	return newTransportWith(t, nil)
}

// newTransportWith is newTransport with the communication clock publishing
// on pages, and the policy changed by mutate.
func newTransportWith(t *testing.T, pages []comms.StatusPage, mutate ...func(*incident.Policy)) *transport {
	t.Helper()
	f := newChgFixture(t, incident.P1, mutate...)
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
	h := New(withService(Config{Slack: api, Scheduler: f.queue, Replays: f.store, Clock: f.clock, SigningSecret: testSigningSecret, MaxBodyBytes: 64 << 10}, f.svc, f.store, f.chat, pages...))
	r := chi.NewRouter()
	h.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &transport{chgFixture: f, h: h, base: srv.URL, driver: slackfake.NewDriver(f.srv, testSigningSecret)}
}

func (tr *transport) command(t *testing.T, user, channel, text string, opts ...slackfake.RequestOption) *slackfake.Reply {
	t.Helper()
	r, err := tr.driver.SlashCommand(context.Background(), tr.base+"/slack/commands",
		slack.SlashCommand{Command: "/incident", Text: text, UserID: user, ChannelID: channel}, opts...)
	require.NoError(t, err)
	require.Empty(t, r.MessageProblem, "Slack would not show the answer to %q", text)
	return r
}

// TestSignatureCheck: only requests signed with the app's secret, fresh and
// seen once, reach the handler.
func TestSignatureCheck(t *testing.T) {
	tr := newTransport(t)
	tests := []struct {
		name   string
		opts   []slackfake.RequestOption
		status int
		body   string
	}{
		{name: "signed", status: http.StatusOK},
		{name: "wrong secret", opts: []slackfake.RequestOption{slackfake.WrongSecret()}, status: http.StatusUnauthorized, body: "invalid signature"},
		{name: "stale timestamp", opts: []slackfake.RequestOption{slackfake.StaleTimestamp()}, status: http.StatusUnauthorized, body: "stale timestamp"},
		{name: "tampered body", opts: []slackfake.RequestOption{slackfake.TamperBody()}, status: http.StatusUnauthorized, body: "invalid signature"},
		{name: "unsigned", opts: []slackfake.RequestOption{slackfake.Unsigned()}, status: http.StatusUnauthorized, body: "invalid signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, "help", tt.opts...)
			require.Equal(t, tt.status, r.StatusCode, string(r.Body))
			require.Contains(t, string(r.Body), tt.body)
		})
	}

	t.Run("replayed", func(t *testing.T) {
		body := "command=%2Fincident&text=help&user_id=" + tr.ic.ID + "&channel_id=" + tr.inc.ChannelID
		hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		tr.driver.Sign(hdr, []byte(body))
		send := func() int {
			req, err := http.NewRequest(http.MethodPost, tr.base+"/slack/commands", strings.NewReader(body))
			require.NoError(t, err)
			req.Header = hdr.Clone()
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		require.Equal(t, http.StatusOK, send())
		require.Equal(t, http.StatusUnauthorized, send(), "the same signature twice is a replay")
		// The signature is hex, which Slack's check accepts in either
		// case: re-cased, it is still the same request.
		hdr.Set("X-Slack-Signature", "v0="+strings.ToUpper(strings.TrimPrefix(hdr.Get("X-Slack-Signature"), "v0=")))
		require.Equal(t, http.StatusUnauthorized, send(), "a replay with the signature in upper case")
	})

	t.Run("too large", func(t *testing.T) {
		for path, body := range map[string]string{
			"/slack/commands": "command=%2Fincident&text=" + strings.Repeat("x", 70<<10),
			"/slack/events":   `{"type":"event_callback","event_id":"Ev1","event":{"type":"message","text":"` + strings.Repeat("x", 70<<10) + `"}}`,
		} {
			hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			tr.driver.Sign(hdr, []byte(body))
			req, err := http.NewRequest(http.MethodPost, tr.base+path, strings.NewReader(body))
			require.NoError(t, err)
			req.Header = hdr
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, path)
			require.Equal(t, "1", resp.Header.Get("X-Slack-No-Retry"), "Slack is told a retry cannot help")
		}
	})

	t.Run("url verification", func(t *testing.T) {
		r, err := tr.driver.URLVerification(context.Background(), tr.base+"/slack/events", "c-3po")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.Contains(t, string(r.Body), "c-3po")
	})
}

// TestCommandsOverHTTP runs the slash commands through the signed HTTP
// route, in the incident's channel and outside it; each answer says what
// happened in words the person can act on.
func TestCommandsOverHTTP(t *testing.T) {
	tr := newTransport(t)
	in, general := tr.inc.ChannelID, "C0GENERAL"
	tests := []struct {
		name, channel, text string
		want                []string
	}{
		{name: "help", channel: general, text: "help", want: []string{"declare"}},
		{name: "no subcommand", channel: general, text: "", want: []string{"declare"}},
		{name: "unknown", channel: general, text: "frobnicate", want: []string{"frobnicate"}},
		{name: "list", channel: general, text: "list", want: []string{tr.inc.Key()}},
		{name: "status outside an incident", channel: general, text: "status", want: []string{"incident channel"}},
		{name: "status", channel: in, text: "status", want: []string{tr.inc.Key()}},
		{name: "severity without a level", channel: in, text: "severity", want: []string{"P1"}},
		{name: "severity", channel: in, text: "severity P2", want: []string{"P2"}},
		{name: "update", channel: in, text: "update Payments fail for 4% of users; rolling back", want: []string{"Update posted for INC-1"}},
		{name: "update without text", channel: in, text: "update", want: []string{}},
		{name: "role", channel: in, text: "role comms <@" + tr.other.ID + ">", want: []string{"holds the comms role in INC-1"}},
		{name: "role without a person", channel: in, text: "role comms", want: []string{"Usage"}},
		{name: "page", channel: in, text: "page checkout", want: []string{"Paging is not configured for Checkout"}},
		{name: "oncall", channel: in, text: "oncall checkout", want: []string{"PagerDuty is not configured"}},
		{name: "note", channel: in, text: "note the pool is at 100%", want: []string{"Noted on the INC-1 timeline"}},
		{name: "followup", channel: in, text: "followup add a pool alarm", want: []string{"Follow-up recorded for INC-1"}},
		{name: "followups", channel: in, text: "followups", want: []string{"add a pool alarm"}},
		{name: "review", channel: in, text: "review", want: []string{"review is scheduled"}},
		{name: "postmortem", channel: in, text: "postmortem", want: []string{"Postmortems are not configured"}},
		{name: "metrics", channel: general, text: "metrics", want: []string{"Metrics are not set up"}},
		{name: "comms", channel: in, text: "comms", want: []string{"No comms templates"}},
		{name: "statuspage", channel: in, text: "statuspage", want: []string{}},
		{name: "data-concern", channel: in, text: "data-concern", want: []string{"flagged for a data concern"}},
		{name: "changes", channel: in, text: "changes 2h", want: []string{"2 h before"}},
		{name: "changes too far back", channel: in, text: "changes 3d", want: []string{"48 hours"}},
		{name: "changes in days", channel: in, text: "changes 1d", want: []string{"INC-1"}},
		{name: "changes with a bad window", channel: in, text: "changes forever", want: []string{"90m"}},
		{name: "declare with a title", channel: general, text: "declare P2 search is slow", want: []string{"search is slow"}},
		{name: "declare with a bad severity", channel: general, text: "declare P9 search is slow", want: []string{"Unknown severity"}},
		{name: "declare for an unknown service", channel: general, text: "declare P2 --service=nope search is slow", want: []string{"nope"}},
		{name: "declare with only a severity", channel: general, text: "declare P2", want: []string{}},
		{name: "declare with an unknown option", channel: general, text: "declare P2 --loud search is slow", want: []string{"--loud"}},
		{name: "declare in a form", channel: general, text: "declare", want: []string{}},
		{name: "declare a private drill", channel: general, text: "declare P3 --private --drill --service=checkout practice", want: []string{"private incident *INC-3*"}},
		{name: "resolve", channel: in, text: "resolve rolled back the deploy", want: []string{"INC-1 is now resolved"}},
		{name: "reopen", channel: in, text: "reopen", want: []string{}},
		{name: "ic", channel: in, text: "ic <@" + tr.other.ID + ">", want: []string{"is now the Incident Commander of INC-1"}},
		{name: "resolve as someone else", channel: in, text: "resolve", want: []string{"only the Incident Commander"}},
		{name: "close", channel: in, text: "close", want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tr.command(t, tr.ic.ID, tt.channel, tt.text)
			require.Equal(t, http.StatusOK, r.StatusCode, string(r.Body))
			if len(tt.want) == 0 {
				// A form opened: a plain acknowledgement, or a message.
				require.True(t, len(r.Body) == 0 || r.Header.Get("Content-Type") == "application/json", string(r.Body))
			} else {
				require.Equal(t, "application/json", r.Header.Get("Content-Type"))
			}
			for _, w := range tt.want {
				require.Contains(t, string(r.Body), w)
			}
		})
	}
}

func (tr *transport) interact(t *testing.T, cb *slack.InteractionCallback) *slackfake.Reply {
	t.Helper()
	r, err := tr.driver.Interaction(context.Background(), tr.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode, string(r.Body))
	require.Empty(t, r.ViewAckProblem)
	return r
}

// click presses a button of the incident's panel as user.
func (tr *transport) click(t *testing.T, user, actionID string) *slackfake.Reply {
	t.Helper()
	return tr.interact(t, slackfake.BlockActions(user, tr.inc.ChannelID, tr.inc.PanelTS,
		&slack.BlockAction{ActionID: actionID, Value: strconv.FormatInt(tr.inc.ID, 10)}))
}

// openedView returns the newest open form with the callback id.
func (tr *transport) openedView(t *testing.T, callbackID string) slackfake.View {
	t.Helper()
	views := tr.srv.OpenViews()
	for i := len(views) - 1; i >= 0; i-- {
		if views[i].CallbackID == callbackID {
			return views[i]
		}
	}
	t.Fatalf("no open %s form among %d", callbackID, len(views))
	return slackfake.View{}
}

func (tr *transport) submit(t *testing.T, user string, v slackfake.View, values map[string]map[string]slack.BlockAction) *slackfake.Reply {
	t.Helper()
	cb, err := slackfake.ViewSubmission(user, v, values)
	require.NoError(t, err)
	return tr.interact(t, cb)
}

func (tr *transport) incident(t *testing.T) *incident.Incident {
	t.Helper()
	inc, err := tr.store.GetIncident(context.Background(), tr.inc.ID)
	require.NoError(t, err)
	return inc
}

// TestFormsAndButtonsOverHTTP drives the declare form and the panel's
// buttons and forms through the signed interactions route.
func TestFormsAndButtonsOverHTTP(t *testing.T) {
	tr := newTransport(t)

	t.Run("declare form", func(t *testing.T) {
		r := tr.command(t, tr.other.ID, "C0GENERAL", "declare")
		require.Equal(t, http.StatusOK, r.StatusCode)
		v := tr.openedView(t, ViewDeclare)
		// Missing pieces come back on the fields at fault.
		r = tr.submit(t, tr.other.ID, v, map[string]map[string]slack.BlockAction{blockTitle: {blockTitle: {Value: ""}}})
		require.Contains(t, string(r.Body), `"response_action":"errors"`)
		require.Contains(t, string(r.Body), blockTitle)
		require.Contains(t, string(r.Body), blockSeverity)

		values := func(commander string) map[string]map[string]slack.BlockAction {
			return map[string]map[string]slack.BlockAction{
				blockTitle:     {blockTitle: {Value: "search is slow"}},
				blockSeverity:  {blockSeverity: {SelectedOption: slack.OptionBlockObject{Value: "P3"}}},
				blockCommander: {blockCommander: {SelectedUser: commander}},
				blockService:   {blockService: {SelectedOption: slack.OptionBlockObject{Value: "checkout"}}},
			}
		}
		titles := func() []string {
			list, err := tr.svc.List(context.Background())
			require.NoError(t, err)
			var out []string
			for _, inc := range list {
				out = append(out, inc.Title)
				if inc.Title == "search is slow" {
					require.Equal(t, incident.P3, inc.Severity)
					require.Equal(t, tr.other.ID, inc.Commander)
				}
			}
			return out
		}
		// Naming someone else as IC needs the commander group; the
		// refusal comes back on the field.
		r = tr.submit(t, tr.other.ID, v, values(tr.roller.ID))
		require.Contains(t, string(r.Body), `"response_action":"errors"`)
		require.Contains(t, string(r.Body), blockCommander)
		require.Contains(t, string(r.Body), "You may not name someone else as the Incident Commander")
		require.NotContains(t, titles(), "search is slow")

		tr.submit(t, tr.other.ID, v, values(tr.other.ID))
		require.Contains(t, titles(), "search is slow")
	})

	t.Run("severity form", func(t *testing.T) {
		tr.click(t, tr.ic.ID, ActionChangeSeverity)
		v := tr.openedView(t, ViewSeverity)
		tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
			blockSeverity: {blockSeverity: {SelectedOption: slack.OptionBlockObject{Value: "P2"}}}})
		require.Equal(t, incident.P2, tr.incident(t).Severity)
	})

	t.Run("roles form", func(t *testing.T) {
		tr.click(t, tr.ic.ID, ActionAssignRoles)
		v := tr.openedView(t, ViewRoles)
		tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
			incident.RoleComms: {incident.RoleComms: {SelectedUser: tr.other.ID}}})
		require.Equal(t, tr.other.ID, tr.incident(t).Roles[incident.RoleComms])
	})

	t.Run("claim the commander role", func(t *testing.T) {
		// The IC has been quiet for 15 minutes: taking over asks first.
		tr.clock.Advance(16 * time.Minute)
		tr.click(t, tr.other.ID, ActionClaimIC)
		require.Equal(t, tr.ic.ID, tr.incident(t).Commander)
		tr.click(t, tr.other.ID, ActionConfirmTakeIC)
		require.Equal(t, tr.other.ID, tr.incident(t).Commander)
	})

	t.Run("status update form and nag buttons", func(t *testing.T) {
		// The commander since the takeover above.
		id := strconv.FormatInt(tr.inc.ID, 10)
		tr.interact(t, slackfake.BlockActions(tr.other.ID, tr.inc.ChannelID, "", &slack.BlockAction{ActionID: ActionSnooze, Value: id}))
		require.NotNil(t, tr.incident(t).SnoozedUntil, "snoozing the nag")
		tr.clock.Advance(time.Minute)
		tr.interact(t, slackfake.BlockActions(tr.other.ID, tr.inc.ChannelID, "", &slack.BlockAction{ActionID: ActionStillInvestigating, Value: id}))
		require.NotNil(t, tr.incident(t).LastUpdateAt, "still investigating counts as an update")
		tr.interact(t, slackfake.BlockActions(tr.other.ID, tr.inc.ChannelID, "", &slack.BlockAction{ActionID: ActionPostUpdate, Value: id}))
		v := tr.openedView(t, ViewUpdate)
		tr.submit(t, tr.other.ID, v, map[string]map[string]slack.BlockAction{
			blockUpdateStatus: {blockUpdateStatus: {SelectedOption: slack.OptionBlockObject{Value: string(incident.StatusMitigated)}}},
			blockUpdateKnown:  {blockUpdateKnown: {Value: "Payments fail for 4% of users."}},
			blockUpdateDoing:  {blockUpdateDoing: {Value: "Rolling back the 14:02 deploy."}},
			blockUpdateNext:   {blockUpdateNext: {SelectedOption: slack.OptionBlockObject{Value: "30"}}},
		})
		inc := tr.incident(t)
		require.Equal(t, incident.StatusMitigated, inc.Status)
		require.True(t, inc.LastUpdateAt.After(tr.clock.Now().Add(-time.Second)))

	})

	t.Run("resolve form", func(t *testing.T) {
		tr.click(t, tr.other.ID, ActionResolve)
		v := tr.openedView(t, ViewResolve)
		tr.submit(t, tr.other.ID, v, map[string]map[string]slack.BlockAction{
			blockSummary: {blockSummary: {Value: "rolled back the deploy"}}})
		require.Equal(t, incident.StatusResolved, tr.incident(t).Status)
	})

	t.Run("buttons about what does not exist", func(t *testing.T) {
		// Every button refuses, privately, an id it cannot find; nothing
		// opens and nothing is posted in the channel.
		before := len(tr.srv.Messages(tr.inc.ChannelID))
		for _, action := range []string{incident.ActionAlertDeclare, incident.ActionAlertDismiss, ActionPage, incident.ActionAckPage,
			incident.ActionRetryPage, incident.ActionRepage, incident.ActionStatusPagePublish, incident.ActionStatusPageEdit,
			incident.ActionStatusPageDecline, incident.ActionStatusPageRetry, incident.ActionEmailSent, incident.ActionEmailNotNeeded} {
			tr.interact(t, slackfake.BlockActions(tr.other.ID, tr.inc.ChannelID, "", &slack.BlockAction{ActionID: action, Value: "999"}))
		}
		require.Len(t, tr.srv.Messages(tr.inc.ChannelID), before)
	})

	t.Run("a button from elsewhere", func(t *testing.T) {
		before := len(tr.srv.OpenViews())
		tr.interact(t, slackfake.BlockActions(tr.other.ID, "C0GENERAL", "",
			&slack.BlockAction{ActionID: ActionChangeSeverity, Value: "999"}))
		require.Len(t, tr.srv.OpenViews(), before, "no form for an incident that does not exist")
	})
}

// TestSocketMode serves the same handler over Socket Mode: commands,
// buttons and events are acknowledged with the payload HTTP would answer.
func TestSocketMode(t *testing.T) {
	tr := newTransport(t)
	ctx := runSocket(t, tr)

	r, err := tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
	require.NoError(t, err)
	require.NotEmpty(t, r.EnvelopeID)
	require.Contains(t, string(r.Body), tr.inc.Key())

	r, err = tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "frobnicate", UserID: tr.ic.ID, ChannelID: "C0GENERAL"})
	require.NoError(t, err)
	require.Contains(t, string(r.Body), "Unknown command")

	before := len(tr.srv.OpenViews())
	_, err = tr.driver.SocketInteraction(ctx, slackfake.BlockActions(tr.ic.ID, tr.inc.ChannelID, tr.inc.PanelTS,
		&slack.BlockAction{ActionID: ActionChangeSeverity, Value: strconv.FormatInt(tr.inc.ID, 10)}))
	require.NoError(t, err)
	require.Len(t, tr.srv.OpenViews(), before+1, "the button opened the severity form")

	_, err = tr.driver.SocketEvent(ctx, map[string]any{"type": "member_joined_channel", "user": tr.other.ID, "channel": tr.inc.ChannelID}, "Ev0SOCKET1")
	require.NoError(t, err)
}
