package paging_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

func acks(pg *pager) []string {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return append([]string(nil), pg.acks...)
}

// TestWhoMayAcknowledgeAPage: the people the page went to, the IC, the
// role holders and the commander group acknowledge; a bystander in the
// channel and a guest of the workspace, even one holding a role, are
// told who can, and nothing is sent to PagerDuty for them.
func TestWhoMayAcknowledgeAPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		user    string
		allowed bool
		says    []string
	}{
		{user: "U0ONCALL", allowed: true}, // the fake pager's page reached oncall@example.com
		{user: "U0DECL", allowed: true},
		{user: "U0ROLE", allowed: true},
		{user: "U0LEAD", allowed: true},
		{user: "U0BYST", says: []string{"Only the people the page went to, the Incident Commander (U0DECL), the incident's role holders and the commander group may acknowledge the page for Checkout",
			"acknowledge it in PagerDuty"}},
		{user: "U0GUEST", says: []string{"Guests of the workspace do not acknowledge pages"}},
	} {
		t.Run(tt.user, func(t *testing.T) {
			t.Parallel()
			b, pg, inc := leadsSetup(t)
			b.chat.Guests = map[string]bool{"U0GUEST": true}
			b.chat.Members[inc.ChannelID] = append(b.chat.Members[inc.ChannelID], "U0BYST", "U0GUEST")
			_, err := b.svc.AssignRole(ctx, inc.ID, incident.RoleScribe, "U0GUEST", "U0DECL")
			require.NoError(t, err)

			err = b.pg.AcknowledgePage(ctx, pageKey, tt.user, incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: tt.user})
			require.Empty(t, b.queue.RunAll(t))
			if tt.allowed {
				require.NoError(t, err)
				email, _ := b.chat.UserEmail(ctx, tt.user)
				require.Equal(t, []string{pageKey + " by " + email}, acks(pg))
				return
			}
			require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
			for _, s := range tt.says {
				require.Contains(t, incident.ErrorMessage(err), s)
			}
			require.Empty(t, acks(pg), "nothing sent to PagerDuty")
		})
	}
}

// TestBystanderCannotAcknowledgeOverHTTP: through the real PagerDuty
// client against pdfake. Mal, in the channel and with a PagerDuty account,
// is not whom the page went to (Bob, on call): the click is refused and
// the PagerDuty incident stays triggered, so the response-time check still
// calls the backup. Bob's click acknowledges it as Bob.
func TestBystanderCannotAcknowledgeOverHTTP(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksHeld)
	fake.AddUser(pdfake.User{ID: "PUMAL", Name: "Mal Roe", Email: "mal@example.com"})
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	pdInc := fake.Incidents()[0].ID

	err := b.pg.AcknowledgePage(ctx, pageKey, "U0MAL", incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: "U0MAL"})
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	for _, c := range fake.Calls() {
		require.NotEqual(t, http.MethodPut, c.Method, "nothing changed in PagerDuty: %s %s", c.Method, c.Path)
	}
	got, ok := fake.Incident(pdInc)
	require.True(t, ok)
	require.Equal(t, "triggered", got.Status)

	require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0BOB", incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: "U0BOB"}))
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	got, _ = fake.Incident(pdInc)
	require.Equal(t, "acknowledged", got.Status)
	require.Equal(t, "PUBOB", got.AcknowledgedBy)
}
