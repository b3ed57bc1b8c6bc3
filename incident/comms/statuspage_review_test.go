package comms_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/integrations/statuspage"
	"github.com/firebreakhq/firebreak/integrations/statuspage/statuspagefake"
)

// reviewSetup runs the HTTP bundle on the Statuspage fake and hands the fake back.
func reviewSetup(t *testing.T) (httpBundle, *statuspagefake.Fake) {
	t.Helper()
	var fake *statuspagefake.Fake
	b := setupHTTP(t, storetest.Memory, func(t *testing.T, clock incident.Clock) publicPage {
		fake = statuspagefake.New("sp-key", "pgrev", "cmp-api", "cmp-web")
		t.Cleanup(fake.Close)
		fake.SetClock(clock.Now)
		return publicPage{sp: statuspage.New(statuspage.Config{APIURL: fake.URL, APIKey: fake.APIKey, PageID: fake.PageID, Clock: clock}),
			component: func(id string) incident.ComponentStatus { return incident.ComponentStatus(fake.Component(id)) }}
	})
	return b, fake
}

// publicBodies lists the words of the public incident's updates, oldest
// first.
func publicBodies(fake *statuspagefake.Fake) []string {
	var out []string
	for _, in := range fake.Incidents() {
		for i := len(in.Updates) - 1; i >= 0; i-- { // Statuspage lists them newest first
			out = append(out, in.Updates[i].Body)
		}
	}
	return out
}

// TestStillInvestigatingQuotesTheUpdateAsASentence: the "still
// investigating" post quotes the latest status update; an update written
// without a closing full stop gets one, so the next sentence does not run
// on from it on the public page.
func TestStillInvestigatingQuotesTheUpdateAsASentence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ update, want string }{
		{"db-3 primary lost its disk; customer card tokens table being restored", "being restored. The issue began at 14:23 UTC"},
		{"Restoring the table now;", "Restoring the table now. The issue began"},
		{"Is the fix out? Not yet", "Not yet. The issue began"},
		{"Rolled back.", "Rolled back. The issue began"},
		{"It works again!", "It works again! The issue began"},
		{`The vendor says "fixed."`, `The vendor says "fixed." The issue began`},
		{"Restoring (about an hour)", "Restoring (about an hour). The issue began"},
	} {
		t.Run(tc.update, func(t *testing.T) {
			t.Parallel()
			b, fake := reviewSetup(t)
			ctx := context.Background()
			inc := b.declare(t, incident.P1)
			_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: b.ic.ID})
			require.NoError(t, err)
			b.run(t)
			_, err = b.core.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: b.ic.ID, Known: tc.update})
			require.NoError(t, err)
			b.run(t)
			_, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostStillInvestigating, Ref: "1786114380", Actor: b.ic.ID})
			require.NoError(t, err)
			b.run(t)
			bodies := publicBodies(fake)
			require.Len(t, bodies, 2)
			require.Contains(t, bodies[1], tc.want)
		})
	}
}
