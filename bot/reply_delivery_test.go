package bot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// vias lists how each ephemeral in channel reached its person.
func vias(srv *slackfake.Server, channel string) []string {
	var out []string
	for _, e := range srv.Ephemerals(channel) {
		out = append(out, e.Via)
	}
	return out
}

// A reply through a response_url falls back to an ephemeral message only
// when the response_url certainly did not deliver it; after an answer that
// leaves it open (a 5xx, the post may have been shown) it is not said again.
func TestReplyFallsBackOnlyWhenTheResponseURLCertainlyFailed(t *testing.T) {
	t.Parallel()
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL + "/response/T0gone"
	refused.Close()

	for _, tt := range []struct {
		name  string
		fault *slackfake.Fault
		url   func(f *chatFixture, ch string) string
		want  []string
	}{
		{name: "took effect then 500", fault: slackfake.TookEffectThen(http.StatusInternalServerError), want: []string{"response_url"}},
		{name: "503 before anything", fault: slackfake.ServerError(http.StatusServiceUnavailable), want: nil},
		{name: "expired", fault: slackfake.SlackError("expired_url"), want: []string{"chat.postEphemeral"}},
		{name: "rate limited", fault: slackfake.RateLimited(time.Second), want: []string{"chat.postEphemeral"}},
		{name: "unknown url", url: func(f *chatFixture, _ string) string { return f.srv.URL() + "/response/T0unknown" }, want: []string{"chat.postEphemeral"}},
		{name: "connection refused", url: func(*chatFixture, string) string { return refusedURL }, want: []string{"chat.postEphemeral"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFixture(t)
			ch := f.botChannel(t, "general", f.alice.ID).ID
			url := f.srv.NewResponseURL(ch, f.alice.ID)
			if tt.url != nil {
				url = tt.url(f, ch)
			}
			if tt.fault != nil {
				f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
					if c.Method == slackfake.ResponseURLMethod {
						return tt.fault
					}
					return nil
				})
			}
			err := f.chat.Reply(context.Background(), incident.ReplyTarget{ResponseURL: url, ChannelID: ch, UserID: f.alice.ID}, "Declaring INC-1")
			require.NoError(t, err, "the reply was sent, or may have been")
			require.Equal(t, tt.want, vias(f.srv, ch))
			if tt.want == nil || tt.want[0] == "response_url" {
				require.Empty(t, f.srv.CallsTo("chat.postEphemeral"), "not said again another way")
			}
		})
	}
}

// In a job, an ephemeral message that may have been shown is not an error:
// ephemerals cannot be looked for in history, so the job's retry would say
// it again. One that certainly was not shown still fails the job.
func TestTellInAJobFailsOnlyWhenTheEphemeralCertainlyFailed(t *testing.T) {
	t.Parallel()
	n := incident.Notice{Kind: incident.NoticeOnCall, Values: map[string]string{"service": "Checkout"}}

	t.Run("took effect then 500", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "general", f.alice.ID).ID
		to := incident.ReplyTarget{ChannelID: ch, UserID: f.alice.ID}
		f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
			if c.Method == "chat.postEphemeral" {
				return slackfake.TookEffectThen(http.StatusInternalServerError)
			}
			return nil
		})
		require.NoError(t, f.chat.Tell(incident.WithJobRun(context.Background(), 9, 1, 3), to, n), "a retry would say it twice")
		require.Len(t, f.srv.Ephemerals(ch), 1)

		// Outside a job the caller hears of it, and no retry follows.
		require.Error(t, f.chat.Tell(context.Background(), to, n))
	})
	t.Run("rate limited", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "general", f.alice.ID).ID
		to := incident.ReplyTarget{ChannelID: ch, UserID: f.alice.ID}
		f.srv.RateLimitNext("chat.postEphemeral", 1, 2*time.Second)
		err := f.chat.Tell(incident.WithJobRun(context.Background(), 9, 1, 3), to, n)
		requireCode(t, err, incident.EUNAVAILABLE)
		var ra interface{ RetryAfter() time.Duration }
		require.ErrorAs(t, err, &ra, "the job waits as long as Slack asked")
		require.Empty(t, f.srv.Ephemerals(ch))
		require.NoError(t, f.chat.Tell(incident.WithJobRun(context.Background(), 9, 2, 3), to, n))
		require.Len(t, f.srv.Ephemerals(ch), 1)
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "general", f.alice.ID).ID
		to := incident.ReplyTarget{ChannelID: ch, UserID: f.alice.ID}
		f.srv.ErrorNext("chat.postEphemeral", 1, "invalid_auth")
		requireCode(t, f.chat.Tell(incident.WithJobRun(context.Background(), 9, 1, 3), to, n), incident.EFORBIDDEN)
		require.Empty(t, f.srv.Ephemerals(ch))
	})
}
