package outbound_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/outbound"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	metrics := outbound.NewMetrics(reg)

	pd := newScripted(t, statuses(500, 503, 200))
	pdClient, _ := newClient(t, outbound.Policy{Provider: "pagerduty"}, outbound.WithMetrics(metrics))
	resp, _, err := do(t, pdClient, newRequest(t, t.Context(), http.MethodGet, pd.URL, nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A caller-named operation and a client error.
	resp, _, err = do(t, pdClient, newRequest(t, outbound.WithOperation(t.Context(), "incidents.create"),
		http.MethodPost, pd.URL, strings.NewReader("{}")))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Slack: the operation is the API method; the breaker trips after one
	// failure and the next call is refused.
	sl := newScripted(t, statuses(500))
	slClient, _ := newClient(t, outbound.Policy{
		Provider:  "slack",
		Operation: outbound.SlackOperation,
		Breaker:   outbound.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour},
	}, outbound.WithMetrics(metrics))
	api := slack.New("xoxb-secret", slack.OptionHTTPClient(slClient.HTTPClient()), slack.OptionAPIURL(sl.URL+"/api/"))
	_, _, err = api.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("hi", false))
	require.Error(t, err)
	_, _, err = api.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("hi", false))
	require.ErrorIs(t, err, outbound.ErrBreakerOpen)
	require.Equal(t, 1, sl.Hits())

	const want = `
# HELP firebreak_outbound_breaker_state Circuit breaker state by provider: 0 closed, 1 half-open, 2 open.
# TYPE firebreak_outbound_breaker_state gauge
firebreak_outbound_breaker_state{provider="pagerduty"} 0
firebreak_outbound_breaker_state{provider="slack"} 2
# HELP firebreak_outbound_requests_total Outbound HTTP attempts by provider, operation and outcome (ok, client_error, server_error, rate_limited, timeout, error, canceled, breaker_open).
# TYPE firebreak_outbound_requests_total counter
firebreak_outbound_requests_total{operation="GET",outcome="ok",provider="pagerduty"} 1
firebreak_outbound_requests_total{operation="GET",outcome="server_error",provider="pagerduty"} 2
firebreak_outbound_requests_total{operation="chat.postMessage",outcome="breaker_open",provider="slack"} 1
firebreak_outbound_requests_total{operation="chat.postMessage",outcome="server_error",provider="slack"} 1
firebreak_outbound_requests_total{operation="incidents.create",outcome="ok",provider="pagerduty"} 1
# HELP firebreak_outbound_retries_total Outbound HTTP attempts after the first, by provider and operation.
# TYPE firebreak_outbound_retries_total counter
firebreak_outbound_retries_total{operation="GET",provider="pagerduty"} 2
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"firebreak_outbound_breaker_state", "firebreak_outbound_requests_total", "firebreak_outbound_retries_total"))

	// One latency sample per attempt that reached the network.
	families, err := reg.Gather()
	require.NoError(t, err)
	counts := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "firebreak_outbound_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			counts[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
		}
	}
	require.Equal(t, map[string]uint64{"pagerduty": 4, "slack": 1}, counts)
}

func TestRegistryBreakers(t *testing.T) {
	t.Parallel()
	registry := outbound.NewRegistry()
	srv := newScripted(t, statuses(502))
	gh, _ := newClient(t, outbound.Policy{Provider: "github", MaxAttempts: 1,
		Breaker: outbound.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}}, outbound.WithRegistry(registry))
	_, _ = newClient(t, outbound.Policy{Provider: "slack"}, outbound.WithRegistry(registry))
	_, _ = newClient(t, outbound.Policy{Provider: "confluence"}, outbound.WithRegistry(registry))

	resp, _, err := do(t, gh, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)

	require.Equal(t, []outbound.BreakerStatus{
		{Provider: "confluence", State: outbound.BreakerClosed},
		{Provider: "github", State: outbound.BreakerOpen},
		{Provider: "slack", State: outbound.BreakerClosed},
	}, registry.Breakers())
	require.Equal(t, []string{"github"}, registry.Open())

	out, err := json.Marshal(registry.Breakers())
	require.NoError(t, err)
	require.JSONEq(t, `[{"provider":"confluence","state":"closed"},{"provider":"github","state":"open"},{"provider":"slack","state":"closed"}]`, string(out))
}
