package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// advance moves the clock in small steps, running the timers that fall due,
// as the job engine does.
func advance(t *testing.T, b bundle, d time.Duration) {
	t.Helper()
	end := b.clock.Now().Add(d)
	for b.clock.Now().Before(end) {
		step := min(30*time.Second, end.Sub(b.clock.Now()))
		b.clock.Advance(step)
		b.queue.RunDue(t, b.clock.Now())
	}
}

func readyAt(t *testing.T, b bundle, sev incident.Severity) *incident.Incident {
	t.Helper()
	inc := declare(t, b, "checkout is down", sev, "")
	b.queue.RunDue(t, b.clock.Now())
	inc, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	return inc
}

func TestNagCadencePerSeverity(t *testing.T) {
	t.Parallel()
	for sev, every := range map[incident.Severity]time.Duration{incident.P1: 10 * time.Minute, incident.P2: 15 * time.Minute} {
		b := setup(t)
		readyAt(t, b, sev)
		advance(t, b, every-time.Minute)
		require.Empty(t, b.chat.Nags, "%s: nothing before the cadence", sev)
		advance(t, b, 2*time.Minute)
		require.Len(t, b.chat.Nags, 1, "%s: one nag after one cadence", sev)
		require.Contains(t, b.chat.Nags[0], "<@U0DECL>, *INC-1 needs a status update*")
		advance(t, b, every)
		require.Len(t, b.chat.Nags, 2, sev)
	}
	for _, sev := range []incident.Severity{incident.P3, incident.P4} {
		b := setup(t)
		readyAt(t, b, sev)
		advance(t, b, 3*time.Hour)
		require.Empty(t, b.chat.Nags, "%s has no cadence", sev)
	}
}

func TestNagEscalationLadder(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	readyAt(t, b, incident.P1)
	replies := len(b.chat.Replies)
	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 1)
	require.NotContains(t, b.chat.Nags[0], "Second reminder")
	require.Len(t, b.chat.Replies, replies, "no DM on the first nag")

	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 2)
	require.Contains(t, b.chat.Nags[1], "Second reminder; the IC has been messaged directly")
	require.Len(t, b.chat.Replies, replies+1)
	require.True(t, strings.HasPrefix(b.chat.Replies[replies], "U0DECL: INC-1 needs a status update"), b.chat.Replies[replies])

	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 3)
	require.Contains(t, b.chat.Nags[2], "<!subteam^S0ICS>, please help the IC or take over")

	// Any update resets the ladder.
	_, err := b.svc.PostUpdate(context.Background(), 1, incident.UpdateInput{Author: "U0DECL", Known: "found it"})
	require.NoError(t, err)
	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 4)
	require.NotContains(t, b.chat.Nags[3], "missed")
	require.NotContains(t, b.chat.Nags[3], "Second reminder")
}

func TestBackupIsTheCommsLeadWithoutAGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.AssignRole(context.Background(), inc.ID, "comms", "U0KIM", "U0DECL")
	require.NoError(t, err)
	advance(t, b, 30*time.Minute)
	require.Len(t, b.chat.Nags, 3)
	require.Contains(t, b.chat.Nags[2], "<@U0KIM>, please help the IC or take over")
}

func TestUpdateResetsTheClock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 8*time.Minute)
	_, err := b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "error rate at 40%", Doing: "rolling back"})
	require.NoError(t, err)
	advance(t, b, 9*time.Minute)
	require.Empty(t, b.chat.Nags, "the clock restarted at the update")
	advance(t, b, 2*time.Minute)
	require.Len(t, b.chat.Nags, 1)

	// A promised next update moves the reminder with it.
	_, err = b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "stable", NextIn: 25 * time.Minute})
	require.NoError(t, err)
	advance(t, b, 24*time.Minute)
	require.Len(t, b.chat.Nags, 1)
	advance(t, b, 2*time.Minute)
	require.Len(t, b.chat.Nags, 2)

	updates, err := b.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 2)
	posts := strings.Join(b.chat.Posts[inc.ChannelID], "\n")
	require.Contains(t, posts, "*What we know:* error rate at 40%")
	require.Contains(t, strings.Join(b.chat.Posts["CBROADCAST"], "\n"), "Status update — INC-1", "mirrored to the broadcast channel")
}

func TestSnoozeIsForTheIC(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.Snooze(ctx, inc.ID, "U0SOMEONE")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	advance(t, b, 5*time.Minute)
	_, err = b.svc.Snooze(ctx, inc.ID, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 29*time.Minute)
	require.Empty(t, b.chat.Nags, "silent for 30 minutes after the snooze")
	advance(t, b, 2*time.Minute)
	require.Len(t, b.chat.Nags, 1)
}

func TestNagsPauseWhenMitigatedAndStopWhenResolved(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusMitigated, "U0DECL", "")
	require.NoError(t, err)
	advance(t, b, time.Hour)
	require.Empty(t, b.chat.Nags, "paused while mitigated")

	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusInvestigating, "U0DECL", "")
	require.NoError(t, err)
	advance(t, b, 11*time.Minute)
	require.Len(t, b.chat.Nags, 1, "resumed, counting from the relapse")

	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	advance(t, b, time.Hour)
	require.Len(t, b.chat.Nags, 1, "no nags once resolved")

	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusInvestigating, "U0DECL", "")
	require.NoError(t, err)
	advance(t, b, 11*time.Minute)
	require.Len(t, b.chat.Nags, 2, "reopening starts them again")
}

func TestNagsKeepGoingWhenMitigatedIfConfigured(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.PauseNagsWhenMitigated = false })
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.SetStatus(context.Background(), inc.ID, incident.StatusMitigated, "U0DECL", "")
	require.NoError(t, err)
	advance(t, b, 11*time.Minute)
	require.Len(t, b.chat.Nags, 1)
}

func TestSeverityChangeReplansNags(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inc := readyAt(t, b, incident.P2)
	advance(t, b, 11*time.Minute)
	require.Empty(t, b.chat.Nags)
	_, err := b.svc.SetSeverity(context.Background(), inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 30*time.Second)
	require.Len(t, b.chat.Nags, 1, "P1's 10-minute cadence is already overdue")
	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 2, "and continues at P1's cadence")
	_, err = b.svc.SetSeverity(context.Background(), inc.ID, incident.P3, "U0DECL")
	require.NoError(t, err)
	advance(t, b, time.Hour)
	require.Len(t, b.chat.Nags, 2, "P3 has no cadence")
}

func TestNagWithoutICAsksForOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "db failover", Severity: incident.P1, DeclaredBy: "U0BOT"})
	require.NoError(t, err)
	b.queue.RunDue(t, b.clock.Now())
	_, err = b.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Commander = ""
		return nil, nil
	})
	require.NoError(t, err)
	advance(t, b, 11*time.Minute)
	require.Len(t, b.chat.Nags, 1)
	require.Contains(t, b.chat.Nags[0], "has no Incident Commander")
}

func TestResponseTargetEscalates(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 14*time.Minute)
	require.NotContains(t, strings.Join(b.chat.Posts[inc.ChannelID], "\n"), "not been acknowledged")
	advance(t, b, 2*time.Minute)
	posts := strings.Join(b.chat.Posts[inc.ChannelID], "\n")
	require.Contains(t, posts, "*INC-1 has not been acknowledged* within its 15 minutes target for P1")
	require.Contains(t, posts, "<!subteam^S0ICS>, please respond")
	require.Contains(t, posts, "<@U0DECL> is the IC, but nobody has acknowledged the page.")
	require.NotContains(t, posts, "Nobody has claimed the IC role", "the declarer is the IC")

	// Claiming the IC role acknowledges; then nothing is said.
	b2 := setup(t)
	inc2 := readyAt(t, b2, incident.P2)
	_, err := b2.svc.ConfirmTakeIC(ctx, inc2.ID, "U0JANE")
	require.NoError(t, err)
	advance(t, b2, 2*time.Hour)
	require.NotContains(t, strings.Join(b2.chat.Posts[inc2.ChannelID], "\n"), "not been acknowledged")
}

func TestNagPostedOnceWhenTimersCollide(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inc := readyAt(t, b, incident.P1)
	// A severity bounce plans timers for the same due time twice, and an
	// overdue timer after downtime fires late: one nag either way.
	_, err := b.svc.SetSeverity(context.Background(), inc.ID, incident.P2, "U0DECL")
	require.NoError(t, err)
	_, err = b.svc.SetSeverity(context.Background(), inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	b.clock.Advance(45 * time.Minute) // the bot was down
	b.queue.RunDue(t, b.clock.Now())
	require.Len(t, b.chat.Nags, 1, "a nag that fell due during downtime is posted once, not once per missed cadence")
}

func TestNagRetriesWhenSlackFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	readyAt(t, b, incident.P1)
	b.chat.Fail["nag"] = 1
	advance(t, b, 11*time.Minute)
	require.Len(t, b.chat.Nags, 1, "the failed post is retried and lands once")
}

func TestRenderedNagUpdateAndComms(t *testing.T) {
	t.Parallel()
	p := incident.DefaultPolicy()
	p.CommanderGroup = "S0ICS"
	at := time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)
	inc := &incident.Incident{Number: 42, Title: "Checkout is down", Severity: incident.P1, Status: incident.StatusInvestigating,
		Commander: "U0JANE", ChannelID: "C0INC", DeclaredAt: at}
	var nags []string
	for level := 1; level <= 3; level++ {
		nags = append(nags, bot.NoticeText(incident.NagNotice(inc, p, level, at.Add(time.Duration(level)*10*time.Minute))))
	}
	noIC := *inc
	noIC.Commander = ""
	nags = append(nags, bot.NoticeText(incident.NagNotice(&noIC, p, 1, at.Add(10*time.Minute))))
	incidenttest.Golden(t, "testdata/nag.golden", []byte(strings.Join(nags, "\n---\n")+"\n"))

	upd := incident.UpdateNotice(inc, p, incident.UpdateInput{Author: "U0JANE", Known: "Payments fail for 40% of users since 14:02.",
		Doing: "Rolling back the 14:02 deploy."}, at.Add(12*time.Minute))
	incidenttest.Golden(t, "testdata/update.golden", []byte(bot.NoticeText(upd)+"\n"))
}
