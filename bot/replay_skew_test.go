package bot

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestReplaySignedAheadOfTheClockRefused: Slack's check accepts a
// timestamp up to five minutes either side of the clock, so a request
// signed four minutes ahead (Slack's clock ahead of this one) is valid
// until nine minutes from now. A replay of it five minutes after it was
// accepted, its signature still valid, is refused, as is one after the
// process restarted and read what it had accepted.
func TestReplaySignedAheadOfTheClockRefused(t *testing.T) {
	clock := incidenttest.NewClock(time.Now())
	records := incidenttest.NewMemStore(clock)
	serve := func() (*Handler, string) {
		h := New(Config{SigningSecret: testSigningSecret, Clock: clock, Replays: records})
		ctx := t.Context()
		go h.ShareReplayChecks(ctx)
		r := chi.NewRouter()
		h.Routes(r)
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return h, srv.URL
	}
	_, base := serve()
	body := "command=%2Fincident&text=help&user_id=U0ALICE&channel_id=C0GENERAL"
	ts := time.Now().Add(4 * time.Minute).Unix()
	send := func(base string) int {
		req, err := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", slackfake.Signature(testSigningSecret, ts, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, send(base))
	require.Equal(t, http.StatusUnauthorized, send(base))
	require.Eventually(t, func() bool {
		batches, err := records.ReplayBatchesSince(t.Context(), clock.Now().Add(-time.Hour), "")
		return err == nil && len(batches) == 1
	}, 5*time.Second, 10*time.Millisecond, "the accepted signature is recorded")

	clock.Advance(replayWindow + time.Second)
	require.Equal(t, http.StatusUnauthorized, send(base), "a replay of a request whose signature is still valid")

	// A process started now reads the signatures accepted before.
	h, restarted := serve()
	require.Eventually(t, func() bool {
		h.replay.mu.Lock()
		defer h.replay.mu.Unlock()
		return len(h.replay.seen) > 0
	}, 5*time.Second, 10*time.Millisecond, "the process started now reads what was accepted before")
	require.Equal(t, http.StatusUnauthorized, send(restarted), "a replay to a process started after the request was accepted")
}
