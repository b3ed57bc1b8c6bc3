package paging_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// TestDeclarerPagerDutyForbidsIsPagedForByTheBot: the declarer has a
// PagerDuty account whose role may not open incidents (a read-only user),
// and PagerDuty refuses the page made as them with 403, its code 1018
// "Requester not authorized to perform action". The page goes out as the
// bot, as for a declarer without an account: on-call is paged.
func TestDeclarerPagerDutyForbidsIsPagedForByTheBot(t *testing.T) {
	t.Parallel()
	var b bundle
	fake := pdfake.New(pdfake.WithClock(func() time.Time { return b.clock.Now() }))
	t.Cleanup(fake.Close)
	fake.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1"})
	fake.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	fake.AddUser(pdfake.User{ID: "PUDECL", Name: "Dee Clare", Email: "decl@example.com", ReadOnly: true}) // U0DECL
	fake.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	client := pagerduty.New(pagerduty.Config{APIURL: fake.URL(), EventsURL: fake.EventsURL(), Token: fake.Token(), FromEmail: "bot@example.com"})
	b = setupOn(t, storeMemory, client, onCheckout)

	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	var refused int
	for _, c := range fake.Calls() {
		if c.Method == "POST" && c.Path == "/incidents" && c.From == "decl@example.com" {
			require.Equal(t, 403, c.Status)
			refused++
		}
	}
	require.Equal(t, 1, refused, "paged as the declarer first")
	require.Len(t, fake.Incidents(), 1, "then as the bot")
	require.Equal(t, "bot@example.com", fake.Incidents()[0].CreatedBy)
	require.Equal(t, []string{"PUBOB"}, fake.Incidents()[0].Notified)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Paged *Checkout* in PagerDuty: Bob Roe."), 1, "%q", b.chat.Posts[inc.ChannelID])
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "failed"))
}
