package pagerduty_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
)

type alertSink struct {
	mu  sync.Mutex
	got []incident.AlertEvent
}

func (a *alertSink) take(_ context.Context, ev incident.AlertEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, ev)
	return nil
}

// TestWebhookTriggeredIsAnAlert: incident.triggered of an incident the bot
// did not open reaches the alert sink, labelled with its service and
// urgency, and its incident.resolved resolves the alert; the bot's own page
// (incident_key firebreak-...) is not an alert, and without WithAlerts
// nothing changes for page events.
func TestWebhookTriggeredIsAnAlert(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ours, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	pages, alerts := &sink{}, &alertSink{}
	srv := httptest.NewServer(pagerduty.NewWebhookHandler([]string{secret}, pages.handle, nil, pagerduty.WithAlerts(alerts.take)))
	t.Cleanup(srv.Close)
	send := func(eventType, id string) int {
		t.Helper()
		resp, err := b.fake.SendWebhook(t.Context(), srv.URL, secret, eventType, id, "")
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}

	require.Equal(t, http.StatusOK, send("incident.triggered", ours.ExternalID))
	require.Empty(t, alerts.got, "the bot's own page is not an alert")

	require.Equal(t, http.StatusOK, send("incident.triggered", "Q0FOREIGN1"))
	require.Len(t, alerts.got, 1)
	ev := alerts.got[0]
	require.Equal(t, "pagerduty", ev.Source)
	require.Equal(t, "Q0FOREIGN1", ev.Fingerprint)
	require.Equal(t, incident.AlertFiring, ev.Status)
	require.Equal(t, "Incident Q0FOREIGN1", ev.Title)
	require.Equal(t, "PSFAKE1", ev.Labels["pagerduty_service"])
	require.Equal(t, "Fake service", ev.Labels["pagerduty_service_name"])
	require.Equal(t, "high", ev.Labels["urgency"])
	require.Contains(t, ev.URL, "/incidents/Q0FOREIGN1")

	require.Equal(t, http.StatusOK, send("incident.resolved", "Q0FOREIGN1"))
	require.Len(t, alerts.got, 2)
	require.Equal(t, incident.AlertResolved, alerts.got[1].Status)
	require.Len(t, pages.got(), 1, "the resolve is still a page event for pages the bot knows")

	require.Equal(t, http.StatusOK, send("incident.acknowledged", "Q0FOREIGN1"))
	require.Len(t, alerts.got, 2, "only triggered and resolved are alerts")

	forged, err := b.fake.SendWebhook(t.Context(), srv.URL, "not-the-secret", "incident.triggered", "Q0FOREIGN2", "")
	require.NoError(t, err)
	forged.Body.Close()
	require.Equal(t, http.StatusUnauthorized, forged.StatusCode)
	require.Len(t, alerts.got, 2)
}

// TestAlertCarriesThePagerDutyIncidentKey: a PagerDuty incident opened by
// a monitoring tool (through the Events API, with its own dedup_key) is an
// alert labelled with its incident_key, by which PagerDuty's reports of it
// are known once an incident declared from it takes it for its page; a
// page of another installation of the bot, whose key names that
// installation, is no alert either.
func TestAlertCarriesThePagerDutyIncidentKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	monitor := b.request(b.events)
	monitor.DedupKey = "d3640fbd41094207a1c11e58e46b1662"
	_, err := b.client.Page(t.Context(), monitor)
	require.NoError(t, err)
	other := b.request(b.rest)
	other.DedupKey = "firebreak-qwertyuiopas-7-checkout"
	_, err = b.client.Page(t.Context(), other)
	require.NoError(t, err)
	alerts := &alertSink{}
	srv := httptest.NewServer(pagerduty.NewWebhookHandler([]string{secret}, (&sink{}).handle, nil, pagerduty.WithAlerts(alerts.take)))
	t.Cleanup(srv.Close)
	pd := b.fake.Incidents()
	require.Len(t, pd, 2)
	for _, id := range []string{pd[0].ID, pd[1].ID} {
		resp, err := b.fake.SendWebhook(t.Context(), srv.URL, secret, "incident.triggered", id, "")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.Len(t, alerts.got, 1, "the other installation's page is no alert")
	require.Equal(t, pd[0].ID, alerts.got[0].Fingerprint)
	require.Equal(t, "d3640fbd41094207a1c11e58e46b1662", alerts.got[0].Labels["pagerduty_incident_key"])
}
