package paging_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// lateAnswer is the PagerDuty client whose answer to the page call comes
// late: before it does, on-call acknowledges the page from the phone and
// PagerDuty delivers the acknowledgement, so the report is about a page
// the bot has not recorded yet.
type lateAnswer struct {
	incident.Pager
	before func(pdIncidentID string)
}

func (p *lateAnswer) Page(ctx context.Context, req incident.PageRequest) (*incident.Page, error) {
	page, err := p.Pager.Page(ctx, req)
	if err == nil && p.before != nil {
		p.before(page.ExternalID)
		p.before = nil
	}
	return page, err
}

// TestAcknowledgementOfAPageNotYetRecordedIsApplied: the acknowledgement
// of a page the bot opened, delivered before the bot recorded the page,
// is held back and applied once the page is, not answered 200 and lost:
// the page is acknowledged, said once, counted for the time to
// acknowledge, and not escalated at the response target.
func TestAcknowledgementOfAPageNotYetRecordedIsApplied(t *testing.T) {
	t.Parallel()
	var b bundle
	fake := pdfake.New(pdfake.WithClock(func() time.Time { return b.clock.Now() }))
	t.Cleanup(fake.Close)
	fake.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1"})
	fake.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	fake.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	fake.AddUser(pdfake.User{ID: "PUCAROL", Name: "Carol Poe", Email: "carol@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 2, UserID: "PUCAROL", Schedule: "Secondary"})
	client := pagerduty.New(pagerduty.Config{APIURL: fake.URL(), EventsURL: fake.EventsURL(), Token: fake.Token(), FromEmail: "bot@example.com"})
	pager := &lateAnswer{Pager: client}
	b = setupOn(t, storeMemory, pager, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.PagerDuty = incident.PagerDutyService{ServiceID: "PSVC1"}
		p.Services["checkout"] = svc
	})
	hooks := httptest.NewServer(pagerduty.NewWebhookHandler([]string{echoSecret}, b.pg.HandlePageEvent, nil))
	t.Cleanup(hooks.Close)
	url := hooks.URL + "/webhooks/pagerduty"
	var ackedAt time.Time
	pager.before = func(id string) {
		ackedAt = b.clock.Now()
		onPhone(t, fake, id, "bob@example.com", "acknowledged")
		deliver(t, fake, url, "incident.acknowledged", id, "Bob Roe", "01ACKEDEARLY", ackedAt)
		// A report about a page of no incident of the bot's (another
		// installation on the account) is dropped as before.
		deliver(t, fake, url, "incident.acknowledged", id, "Bob Roe", "01FOREIGN", ackedAt,
			pdfake.WithBody([]byte(`{"event":{"id":"01FOREIGN","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"`+
				ackedAt.Format(time.RFC3339Nano)+`","agent":null,"client":null,"data":{"id":"PFOREIGN","type":"incident","status":"acknowledged","incident_key":"firebreak-inst-9999-checkout"}}}`)))
	}

	inc := readyAt(t, b, incident.P2)
	require.Nil(t, pager.before, "the page was called")
	advance(t, b, 10*time.Second)
	require.Equal(t, "acknowledged", pageStatus(t, b))
	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 1, "%q", lines)
	require.Equal(t, 1, events)
	got, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.NotNil(t, got.AcknowledgedAt)

	advance(t, b, 35*time.Minute) // past the P2 response target
	require.Equal(t, "acknowledged", pageStatus(t, b))
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "escalat"), "%q", b.chat.PostsIn(inc.ChannelID))
}
