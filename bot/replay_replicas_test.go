package bot

import (
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
// refuses a request it has already accepted, while a replay sent to
// another replica within the signature window is accepted there and only
// detected afterwards, when the background record meets the first one.
func TestReplayAcrossReplicas(t *testing.T) {
	tr := newTransport(t)
	api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()))
	other := New(withService(Config{Slack: api, Scheduler: tr.queue, Deliveries: tr.store, Clock: tr.clock,
		SigningSecret: testSigningSecret, MaxBodyBytes: 64 << 10}, tr.svc, tr.store, tr.chat))
	r := chi.NewRouter()
	other.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	body := "command=%2Fincident&text=help&user_id=" + tr.ic.ID + "&channel_id=" + tr.inc.ChannelID
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	tr.driver.Sign(hdr, []byte(body))
	send := func(base string) int {
		req, err := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
		require.NoError(t, err)
		req.Header = hdr.Clone()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, send(tr.base))
	require.Equal(t, http.StatusUnauthorized, send(tr.base), "the same replica refuses the replay")
	require.Equal(t, http.StatusOK, send(srv.URL), "another replica accepts it: there is no synchronous shared check")

	detected := func() float64 {
		return testutil.ToFloat64(tr.h.metrics.requests.WithLabelValues("command", "replayed_elsewhere")) +
			testutil.ToFloat64(other.metrics.requests.WithLabelValues("command", "replayed_elsewhere"))
	}
	require.Eventually(t, func() bool { return detected() == 1 }, 5*time.Second, 5*time.Millisecond,
		"the replay is detected after the fact, by whichever replica records the signature second")
}
