package paging_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// The IC fixed it and marked the incident mitigated at minute 5 without
// touching PagerDuty: at the response target the bot does not escalate
// the page, waking the backup for an incident already mitigated. The same
// page of an incident still being investigated is escalated.
func TestMitigatedIncidentsPageIsNotEscalated(t *testing.T) {
	b, pg := pagingSetup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 5*time.Minute)
	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusMitigated, "U0DECL", "")
	require.NoError(t, err)
	advance(t, b, 15*time.Minute)
	require.Empty(t, pg.escalated)

	b, pg = pagingSetup(t)
	readyAt(t, b, incident.P1)
	advance(t, b, 20*time.Minute)
	require.NotEmpty(t, pg.escalated)
}

// The job engine starts the re-page timer by the database's clock; on a
// replica whose clock is 2 s behind, it runs "early". It waits for its time
// and escalates then; planning itself again under its own key, which its
// own job still holds, would have stored nothing and never escalated.
func TestRepageRunEarlyByThisClockStillEscalates(t *testing.T) {
	b, pg := pagingSetup(t)
	readyAt(t, b, incident.P1)
	target := incident.DefaultPolicy().Severity(incident.P1).RespondWithin // 15 minutes
	due := b.clock.Now().Add(target)
	b.clock.Advance(target - 2*time.Second)
	b.queue.RunDue(t, due) // the engine's clock says due; this one is 2 s short
	require.Empty(t, pg.escalated, "not before its time by this clock")
	b.clock.Advance(2 * time.Second)
	b.queue.RunDue(t, due.Add(2*time.Second))
	require.NotEmpty(t, pg.escalated, "the timer that ran early escalates at its time")
}
