package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

// TestReplayAcrossReplicas pins down what the README promises: a replica
// refuses a request it has already accepted; another replica refuses it
// too once it has read the first one's record (within a second), and a
// replay that reached it before then is accepted there and counted.
func TestReplayAcrossReplicas(t *testing.T) {
	tr := newTransport(t)
	api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()))
	other := New(withService(Config{Slack: api, Scheduler: tr.queue, Replays: tr.store, Clock: tr.clock,
		SigningSecret: testSigningSecret, MaxBodyBytes: 64 << 10}, tr.svc, tr.store, tr.chat))
	r := chi.NewRouter()
	other.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go other.ShareReplayChecks(ctx)

	signed := func(text string) (string, http.Header) {
		body := "command=%2Fincident&text=" + text + "&user_id=" + tr.ic.ID + "&channel_id=" + tr.inc.ChannelID
		hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		tr.driver.Sign(hdr, []byte(body))
		return body, hdr
	}
	send := func(base, body string, hdr http.Header) int {
		req, err := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
		require.NoError(t, err)
		req.Header = hdr.Clone()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	recorded := func(n int) func() bool {
		return func() bool {
			bs, err := tr.store.ReplayBatchesSince(context.Background(), time.Time{}, "")
			require.NoError(t, err)
			keys := 0
			for _, b := range bs {
				keys += len(b.Keys)
			}
			return keys >= n
		}
	}

	body, hdr := signed("help")
	require.Equal(t, http.StatusOK, send(tr.base, body, hdr))
	require.Equal(t, http.StatusUnauthorized, send(tr.base, body, hdr), "the same replica refuses the replay")
	require.Eventually(t, recorded(1), 5*time.Second, 5*time.Millisecond)
	time.Sleep(replayPoll + 500*time.Millisecond) // the other replica reads the record
	require.Equal(t, http.StatusUnauthorized, send(srv.URL, body, hdr), "another replica refuses it once it has read the record")

	// Sent to both before either record is written (each waits replayLinger
	// for more), the same request is accepted twice, and counted.
	body, hdr = signed("help+me")
	require.Equal(t, http.StatusOK, send(tr.base, body, hdr))
	require.Equal(t, http.StatusOK, send(srv.URL, body, hdr), "not yet read: accepted")
	detected := func() float64 {
		return testutil.ToFloat64(tr.h.metrics.requests.WithLabelValues("command", "replayed_elsewhere")) +
			testutil.ToFloat64(other.metrics.requests.WithLabelValues("command", "replayed_elsewhere"))
	}
	require.Eventually(t, func() bool { return detected() == 1 }, 5*time.Second, 5*time.Millisecond,
		"the replay is counted by the replica that read the other's record")
	time.Sleep(replayPoll + 200*time.Millisecond)
	require.Equal(t, 1.0, detected(), "and only once")
}
