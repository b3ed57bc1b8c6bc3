package statuspage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
	"github.com/firebreakhq/firebreak/integrations/statuspage"
	"github.com/firebreakhq/firebreak/integrations/statuspage/statuspagefake"
)

// TestRecoverListingIsCountedAsItsOwnOperation: the metrics name each
// Statuspage call by what it does. The listing of unresolved incidents a
// retried create reads (GET .../incidents/unresolved?page=1&per_page=100)
// is "incidents.unresolved", not a plain "incidents.get", whatever its
// query.
func TestRecoverListingIsCountedAsItsOwnOperation(t *testing.T) {
	t.Parallel()
	fake := statuspagefake.New(key, page, api, web)
	t.Cleanup(fake.Close)
	reg := prometheus.NewPedanticRegistry()
	out := outbound.New(outbound.Policy{Provider: statuspage.Provider, MaxAttempts: 1}, outbound.WithMetrics(outbound.NewMetrics(reg)))
	c := statuspage.New(statuspage.Config{APIURL: fake.URL, APIKey: key, PageID: page, HTTPClient: out.HTTPClient()})
	ctx := context.Background()

	p := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	p.StartedAt = time.Now().Add(-time.Minute)
	first, err := c.Create(ctx, p, false)
	require.NoError(t, err)
	again, err := c.Create(ctx, p, true)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID)
	_, err = c.Update(ctx, first, post(incident.PublicIdentified, "Found it.", incident.ComponentMajorOutage), false)
	require.NoError(t, err)
	listed := false
	for _, r := range fake.Requests() {
		listed = listed || r == "GET /pages/"+page+"/incidents/unresolved"
	}
	require.True(t, listed, "the retried create read the unresolved incidents")

	const want = `
# HELP firebreak_outbound_requests_total Outbound HTTP attempts by provider, operation and outcome (ok, client_error, server_error, rate_limited, timeout, error, canceled, breaker_open).
# TYPE firebreak_outbound_requests_total counter
firebreak_outbound_requests_total{operation="incidents.create",outcome="ok",provider="statuspage"} 1
firebreak_outbound_requests_total{operation="incidents.unresolved",outcome="ok",provider="statuspage"} 1
firebreak_outbound_requests_total{operation="incidents.update",outcome="ok",provider="statuspage"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "firebreak_outbound_requests_total"))
}
