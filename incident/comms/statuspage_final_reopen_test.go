package comms_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/integrations/statuspage"
	"github.com/firebreakhq/firebreak/integrations/statuspage/statuspagefake"
)

// TestReopenAfterAResolutionNoticeWhoseAnswerWasLostOffersToReopen: the
// resolution notice reached Statuspage but its answer was lost; the
// incident is reopened before the retry. The retry posts nothing, and says
// the page may read resolved; the reopen offer comes all the same, and
// posted, the public incident no longer reads resolved.
func TestReopenAfterAResolutionNoticeWhoseAnswerWasLostOffersToReopen(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "fixed")
	require.NoError(t, err)
	b.run(t)
	ok, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostResolution, Body: "Resolved.", Actor: b.ic.ID})
	require.NoError(t, err)
	require.True(t, ok)
	job, ok := b.q.Take(comms.JobStatusPagePost)
	require.True(t, ok)
	fake.FailAfterActing(http.StatusGatewayTimeout)
	require.Error(t, runTaken(b, job, 1))
	b.run(t)
	require.Equal(t, "resolved", fake.Incidents()[0].Status, "Statuspage acted before the answer was lost")

	b.advance(t, 2*time.Minute, 30*time.Second, 0)
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusInvestigating, b.ic.ID, "")
	require.NoError(t, err)
	b.run(t)
	require.ErrorIs(t, runTaken(b, job, 2), incident.ErrJobCancel, "the retry of the resolution notice is dropped")
	b.run(t)

	dropped := b.message(t, inc, "Nothing was posted")
	require.Contains(t, dropped, "may have reached Statuspage")
	require.NotContains(t, dropped, "post the resolution notice once it is resolved again", "not while the page may read resolved")
	require.Equal(t, 1, b.said(inc, "was reopened after its resolution notice"), "the reopen is offered")
	ok, err = click(t, b, buttonValue(t, b, inc, "was reopened after its resolution notice", incident.ActionStatusPagePublish))
	require.NoError(t, err)
	require.True(t, ok)
	b.run(t)
	require.Equal(t, "investigating", fake.Incidents()[0].Status)
}

// hookedPage runs before before each update reaches the provider.
type hookedPage struct {
	comms.StatusPage
	before func()
}

func (p *hookedPage) Update(ctx context.Context, ref comms.PublicIncident, post comms.PublicPost, recover bool) (comms.PublicIncident, error) {
	if p.before != nil {
		p.before()
	}
	return p.StatusPage.Update(ctx, ref, post, recover)
}

// TestReopenWhileTheResolutionNoticeIsInFlightOffersToReopen: the
// incident is reopened, and its reopen's steps run, while the resolution
// notice is on its way to Statuspage. The notice lands and is recorded;
// the public incident reads resolved over components in outage, so the
// reopen offer comes once it is recorded.
func TestReopenWhileTheResolutionNoticeIsInFlightOffersToReopen(t *testing.T) {
	t.Parallel()
	var fake *statuspagefake.Fake
	var hooked *hookedPage
	b := setupHTTP(t, storetest.Memory, func(t *testing.T, clock incident.Clock) publicPage {
		fake = statuspagefake.New("sp-key", "pgrev", "cmp-api", "cmp-web")
		t.Cleanup(fake.Close)
		fake.SetClock(clock.Now)
		hooked = &hookedPage{StatusPage: statuspage.New(statuspage.Config{APIURL: fake.URL, APIKey: fake.APIKey, PageID: fake.PageID, Clock: clock})}
		return publicPage{sp: hooked, component: func(id string) incident.ComponentStatus { return incident.ComponentStatus(fake.Component(id)) }}
	})
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "fixed")
	require.NoError(t, err)
	b.run(t)
	ok, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostResolution, Body: "Resolved.", Actor: b.ic.ID})
	require.NoError(t, err)
	require.True(t, ok)
	job, ok := b.q.Take(comms.JobStatusPagePost)
	require.True(t, ok)
	hooked.before = func() {
		hooked.before = nil
		b.clock.Advance(time.Minute)
		_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusInvestigating, b.ic.ID, "")
		require.NoError(t, err)
		b.q.Run(t, incident.JobHooks, comms.JobComms) // the reopen's steps, before the notice is recorded
	}
	require.NoError(t, runTaken(b, job, 1))
	b.run(t)
	require.Equal(t, "resolved", fake.Incidents()[0].Status, "the notice landed after the reopen")
	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusInvestigating, got.Status)

	require.Equal(t, 1, b.said(inc, "was reopened after its resolution notice"), "the reopen is offered")
	ok, err = click(t, b, buttonValue(t, b, inc, "was reopened after its resolution notice", incident.ActionStatusPagePublish))
	require.NoError(t, err)
	require.True(t, ok)
	b.run(t)
	require.Equal(t, "investigating", fake.Incidents()[0].Status)
}
