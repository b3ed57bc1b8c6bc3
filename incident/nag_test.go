package incident_test

import (
	"context"
	"errors"
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
	withoutIC(t, b, inc.ID)
	advance(t, b, 11*time.Minute)
	require.Len(t, b.chat.Nags, 1)
	require.Contains(t, b.chat.Nags[0], "has no Incident Commander")
}

// withoutIC leaves the incident without an IC, as one declared from an
// alert is.
func withoutIC(t *testing.T, b bundle, id int64) {
	t.Helper()
	_, err := b.store.UpdateIncident(context.Background(), id, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Commander = ""
		return nil, nil
	})
	require.NoError(t, err)
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
	advance(t, b2, 16*time.Minute) // the declaring IC went quiet
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
	nags = append(nags, bot.NoticeText(incident.NagNotice(&noIC, p, 1, at.Add(10*time.Minute))),
		bot.NoticeText(incident.NagNotice(&noIC, p, 2, at.Add(20*time.Minute))))
	incidenttest.Golden(t, "testdata/nag.golden", []byte(strings.Join(nags, "\n---\n")+"\n"))

	upd := incident.UpdateNotice(inc, p, incident.UpdateInput{Author: "U0JANE", Known: "Payments fail for 40% of users since 14:02.",
		Doing: "Rolling back the 14:02 deploy."}, at.Add(12*time.Minute))
	incidenttest.Golden(t, "testdata/update.golden", []byte(bot.NoticeText(upd)+"\n"))
}

// dmsTo counts the update reminders sent to user directly, among the
// replies from index from on.
func dmsTo(b bundle, user string, from int) int {
	n := 0
	for _, r := range b.chat.Replies[from:] {
		if strings.HasPrefix(r, user+": ") && strings.Contains(r, "needs a status update") {
			n++
		}
	}
	return n
}

func TestRaisedSeverityNagsAtTheNewCadence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// Raised right after a P2 nag: the next one comes within P1's 10
	// minutes, not at the end of P2's 15.
	b := setup(t)
	inc := readyAt(t, b, incident.P2)
	advance(t, b, 16*time.Minute)
	require.Len(t, b.chat.Nags, 1)
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 10*time.Minute+30*time.Second)
	require.Len(t, b.chat.Nags, 2, "the first P1 nag is due within P1's cadence")

	// Raised after a promise made for a P2: P1's cadence wins.
	b = setup(t)
	inc = readyAt(t, b, incident.P2)
	_, err = b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "looking", NextIn: 40 * time.Minute})
	require.NoError(t, err)
	advance(t, b, 2*time.Minute)
	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 10*time.Minute+30*time.Second)
	require.Len(t, b.chat.Nags, 1, "a P2 promise does not hold off a P1's reminder")
}

func TestNagSaysHowLongSinceTheLastUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.PostUpdate(context.Background(), inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "stable", NextIn: 25 * time.Minute})
	require.NoError(t, err)
	advance(t, b, 25*time.Minute+30*time.Second)
	require.Len(t, b.chat.Nags, 1)
	require.Contains(t, b.chat.Nags[0], "none for 25m", "the silence since the update, not since a shifted clock")
}

func TestNothingSilencesAP1ForHours(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, func(p *incident.Policy) { p.Snooze = 4 * time.Hour })
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.Snooze(ctx, inc.ID, "U0DECL")
	require.NoError(t, err)
	b.queue.RunDue(t, b.clock.Now())
	require.Contains(t, strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "snoozed update reminders until 14:53 UTC", "a P1 snooze lasts at most three cadences")
	advance(t, b, 30*time.Minute+30*time.Second)
	require.Len(t, b.chat.Nags, 1, "a P1 snooze is bounded by three of its cadences")

	b = setup(t)
	inc = readyAt(t, b, incident.P1)
	_, err = b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "stable", NextIn: 24 * time.Hour})
	require.NoError(t, err)
	advance(t, b, 30*time.Minute+30*time.Second)
	require.Len(t, b.chat.Nags, 1, "a promise of the next update in a day does not silence a P1 for a day")
}

func TestSnoozeOnlyWhereThereIsSomethingToSnooze(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	p3 := readyAt(t, b, incident.P3)
	_, err := b.svc.Snooze(ctx, p3.ID, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "P3 has no reminders")

	p1 := readyAt(t, b, incident.P1)
	_, err = b.svc.SetStatus(ctx, p1.ID, incident.StatusMitigated, "U0DECL", "")
	require.NoError(t, err)
	_, err = b.svc.Snooze(ctx, p1.ID, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "reminders are paused while mitigated")
	_, err = b.svc.SetStatus(ctx, p1.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	_, err = b.svc.Snooze(ctx, p1.ID, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "a resolved incident has no reminders")
	_, err = b.svc.SetStatus(ctx, p1.ID, incident.StatusClosed, "U0DECL", "")
	require.NoError(t, err)
	_, err = b.svc.Snooze(ctx, p1.ID, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "nor a closed one")
	require.NotContains(t, strings.Join(b.chat.PostsIn(p1.ChannelID), "\n"), "snoozed")
}

func TestSnoozeNeverBringsANagForward(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.Snooze = 2 * time.Minute })
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.Snooze(context.Background(), inc.ID, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 9*time.Minute)
	require.Empty(t, b.chat.Nags, "a short snooze does not bring the reminder forward")
	advance(t, b, 90*time.Second)
	require.Len(t, b.chat.Nags, 1)
}

func TestNoICEscalatesToTheCommanderGroup(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	inc := readyAt(t, b, incident.P1)
	withoutIC(t, b, inc.ID)
	replies := len(b.chat.Replies)
	advance(t, b, 20*time.Minute+30*time.Second)
	require.Len(t, b.chat.Nags, 2)
	require.NotContains(t, b.chat.Nags[1], "the IC has been messaged directly", "there is no IC to message")
	require.Contains(t, b.chat.Nags[1], "<!subteam^S0ICS>", "with nobody to message directly, the commander group is called")
	require.Len(t, b.chat.Replies, replies, "no DM to nobody")
}

func TestNagDMGoesToTheCurrentIC(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inc := readyAt(t, b, incident.P1)
	replies := len(b.chat.Replies)
	advance(t, b, 11*time.Minute)
	_, err := b.svc.AssignRole(context.Background(), inc.ID, "ic", "U0JANE", "U0DECL")
	require.NoError(t, err)
	// The ladder starts again for the new IC: the first step names them,
	// the second messages them.
	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 2)
	require.Contains(t, b.chat.Nags[1], "<@U0JANE>")
	require.Zero(t, dmsTo(b, "U0JANE", replies), "the first step messages nobody")
	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 3)
	require.Equal(t, 1, dmsTo(b, "U0JANE", replies), "the IC after the handover is messaged")
	require.Zero(t, dmsTo(b, "U0DECL", replies), "not the one who handed over")
}

func TestTopOfTheLadderIsSpaced(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	readyAt(t, b, incident.P1)
	advance(t, b, 30*time.Minute+30*time.Second)
	require.Len(t, b.chat.Nags, 3, "the channel, the IC, the group: one P1 cadence apart")
	advance(t, b, 19*time.Minute)
	require.Len(t, b.chat.Nags, 3, "at the top the gap doubles")
	advance(t, b, time.Minute)
	require.Len(t, b.chat.Nags, 4)
	require.Contains(t, b.chat.Nags[3], "4 updates missed")
	advance(t, b, 39*time.Minute)
	require.Len(t, b.chat.Nags, 4)
	advance(t, b, time.Minute)
	require.Len(t, b.chat.Nags, 5)
	advance(t, b, 4*time.Hour)
	require.Len(t, b.chat.Nags, 9, "then once an hour, not every ten minutes")
}

func TestAckMissedIsSaidOncePerIncident(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 16*time.Minute)
	missed := func() int {
		return strings.Count(strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "has not been acknowledged")
	}
	require.Equal(t, 1, missed())
	_, err := b.svc.SetSeverity(context.Background(), inc.ID, incident.P2, "U0DECL")
	require.NoError(t, err)
	advance(t, b, time.Hour)
	require.Equal(t, 1, missed(), "lowering the severity does not say it again at P2's target")
}

func TestReopenNagsEvenWhenAHookFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	advance(t, b, time.Hour)
	require.Empty(t, b.chat.Nags)
	b.svc.Use(incident.Feature{Name: "flaky", Hook: func(context.Context, incident.Change) error {
		return errors.New("status page unreachable")
	}})
	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusInvestigating, "U0DECL", "")
	require.NoError(t, err, "the hook's work commits with the reopen, and its failure is retried")
	require.NotEmpty(t, b.queue.Run(t, incident.JobHooks), "the hook fails")
	advance(t, b, 11*time.Minute)
	require.Len(t, b.chat.Nags, 1, "the reopen stands, and so do its reminders")
}
