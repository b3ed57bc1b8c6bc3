package bot

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
)

// faultResponseURLs makes every response_url post answer with fault.
func faultResponseURLs(srv *slackfake.Server, fault *slackfake.Fault) {
	srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == slackfake.ResponseURLMethod {
			return fault
		}
		return nil
	})
}

// countEphemerals counts the ephemerals user was shown in channel that
// contain text, by the way they came.
func countEphemerals(srv *slackfake.Server, channel, user, text string) map[string]int {
	n := map[string]int{}
	for _, e := range srv.Ephemerals(channel) {
		if e.User == user && strings.Contains(e.Text, text) {
			n[e.Via]++
		}
	}
	return n
}

// The answer to a click goes through the click's response_url; after a 500
// there it is not said again as an ephemeral message (Slack may have shown
// it), and after an expired response_url it is.
func TestClickAnswerIsNotRepeatedAfterAnAmbiguousResponseURLFailure(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault *slackfake.Fault
		want  map[string]int
	}{
		{"took effect then 500", slackfake.TookEffectThen(http.StatusInternalServerError), map[string]int{"response_url": 1}},
		{"expired", slackfake.SlackError("expired_url"), map[string]int{"chat.postEphemeral": 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t)
			tr.clock.Advance(5 * time.Minute)
			faultResponseURLs(tr.srv, tt.fault)
			id := strconv.FormatInt(tr.inc.ID, 10)
			tr.interact(t, slackfake.BlockActions(tr.other.ID, tr.inc.ChannelID, tr.inc.PanelTS, &slack.BlockAction{ActionID: ActionStillInvestigating, Value: id}))
			require.Equal(t, tt.want, countEphemerals(tr.srv, tr.inc.ChannelID, tr.other.ID, "keep escalating"))
		})
	}
}

// A Socket Mode command reply too long for its acknowledgement goes through
// the response_url; after a 500 there it is not said again another way,
// and after an expired response_url it is.
func TestLongSocketReplyIsNotRepeatedAfterAnAmbiguousResponseURLFailure(t *testing.T) {
	for _, tt := range []struct {
		name     string
		fault    *slackfake.Fault
		fallback bool
	}{
		{"took effect then 500", slackfake.TookEffectThen(http.StatusInternalServerError), false},
		{"expired", slackfake.SlackError("expired_url"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
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
			faultResponseURLs(f.srv, tt.fault)

			driver := slackfake.NewDriver(f.srv, testSigningSecret)
			reply, err := driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "comms", UserID: f.ic.ID, ChannelID: f.inc.ChannelID})
			require.NoError(t, err)
			_, err = f.srv.WaitResponsePosts(ctx, reply.ResponseURL, 1)
			require.NoError(t, err)
			// The fallback, when there is one, follows the response_url
			// post at once.
			deadline := time.Now().Add(time.Second)
			for len(f.srv.CallsTo("chat.postEphemeral")) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			require.Equal(t, tt.fallback, len(f.srv.CallsTo("chat.postEphemeral")) > 0, "said again as an ephemeral message")
			require.Len(t, f.srv.ResponsePosts(reply.ResponseURL), 1, "the response_url post is not repeated")
		})
	}
}
