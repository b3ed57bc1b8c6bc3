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
	"github.com/firebreakhq/firebreak/incident/alerts"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

type bundle struct {
	svc   *incident.Service
	capt  *capture.Service
	alrt  *alerts.Service
	store *incidenttest.MemStore
	chat  *incidenttest.Chat
	queue *incidenttest.Queue
	clock *incidenttest.Clock
}

func setup(t *testing.T, mutate ...func(*incident.Policy)) bundle {
	t.Helper()
	return setupOn(t, func(s *incidenttest.MemStore) incident.Store { return s }, mutate...)
}

// setupOn is setup with the service on the store wrap returns for the
// bundle's MemStore.
func setupOn(t *testing.T, wrap func(*incidenttest.MemStore) incident.Store, mutate ...func(*incident.Policy)) bundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
		Responders: []string{"U0ALICE", "S0TEAM", "bob@example.com"}, Runbook: "https://runbooks/checkout"}}
	for _, m := range mutate {
		m(&policy)
	}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	c.Users["S0TEAM"] = []string{"U0CAROL", "U0DAVE"}
	c.Users["bob@example.com"] = []string{"U0BOB"}
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	svc := incident.NewService(incident.ServiceConfig{Store: wrap(store), Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	capt := capture.New(capture.Config{Store: store, Chat: c, Notifier: svc, Policy: policy, Clock: clock})
	alrt := alerts.New(alerts.Config{Store: store, Core: svc, Chat: c, Scheduler: q, Policy: policy, Clock: clock})
	alrt.RegisterJobs(q)
	return bundle{svc: svc, capt: capt, alrt: alrt, store: store, chat: c, queue: q, clock: clock}
}

func declare(t *testing.T, b bundle, title string, sev incident.Severity, key string) *incident.Incident {
	t.Helper()
	inc, existed, err := b.svc.Declare(context.Background(), incident.DeclareInput{Title: title, Severity: sev, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", Key: key, ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.False(t, existed)
	return inc
}

func TestDeclareOpensTheWarRoom(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := declare(t, b, "  checkout   is down ", incident.P1, "cmd:T1")
	require.Equal(t, "checkout is down", inc.Title)
	require.Equal(t, incident.StatusDeclared, inc.Status)
	require.Equal(t, "U0DECL", inc.Commander, "the declarer is IC by default")
	require.Empty(t, b.queue.RunAll(t))

	inc, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, "inc-2026-08-07-checkout-is-down", inc.ChannelName)
	require.Equal(t, "C001", inc.ChannelID)
	require.Equal(t, incident.StatusInvestigating, inc.Status)
	require.NotEmpty(t, inc.PanelTS)
	require.Equal(t, []string{inc.PanelTS}, b.chat.Pins)
	require.Equal(t, "CBROADCAST", inc.BroadcastChannel)
	require.Equal(t, "ann-"+inc.Key(), inc.BroadcastTS)
	require.Contains(t, b.chat.Topics["C001"], "P1 | Investigating | IC <@U0DECL> | checkout is down")
	require.Equal(t, []string{"Runbook: Checkout https://runbooks/checkout"}, b.chat.Bookmarks["C001"])
	require.ElementsMatch(t, []string{"U0DECL", "U0ALICE", "U0CAROL", "U0DAVE", "U0BOB"}, b.chat.Members["C001"])
	require.Zero(t, b.chat.Panels[inc.PanelTS], "the panel is posted already investigating: no edit needed")
	require.Len(t, b.chat.Replies, 1)
	require.Contains(t, b.chat.Replies[0], "<#C001>")

	events, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var kinds []string
	for _, ev := range events {
		kinds = append(kinds, string(ev.Kind)+":"+ev.SourceID)
	}
	require.Contains(t, kinds, "declared:")
	require.Contains(t, kinds, "role_assigned:")
	require.Contains(t, kinds, "status_changed:")
	for _, step := range []string{"channel", "topic", "bookmarks", "invites", "panel", "announce"} {
		require.Contains(t, kinds, "setup:setup:"+step)
	}
}

func TestDeclareIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	first := declare(t, b, "checkout is down", incident.P1, "view:V1")
	again, existed, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1, DeclaredBy: "U0DECL", Key: "view:V1"})
	require.NoError(t, err)
	require.True(t, existed)
	require.Equal(t, first.ID, again.ID)
	require.Empty(t, b.queue.RunAll(t))
	all, err := b.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Len(t, b.chat.Channels, 1)
}

func TestDeclareRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for name, in := range map[string]incident.DeclareInput{
		"empty title":     {Title: "  ", Severity: incident.P1, DeclaredBy: "U1"},
		"long title":      {Title: strings.Repeat("x", 1000), Severity: incident.P1, DeclaredBy: "U1"},
		"no severity":     {Title: "x", DeclaredBy: "U1"},
		"unknown service": {Title: "x", Severity: incident.P2, ServiceKey: "billing", DeclaredBy: "U1"},
		"NUL in title":    {Title: "checkout\x00down", Severity: incident.P2, DeclaredBy: "U1"},
		"bell in title":   {Title: "checkout \a down", Severity: incident.P2, DeclaredBy: "U1"},
		"invalid UTF-8":   {Title: "checkout \xff down", Severity: incident.P2, DeclaredBy: "U1"},
		"NUL in description": {Title: "checkout is down", Description: "since\x0014:02", Severity: incident.P2,
			DeclaredBy: "U1"},
	} {
		_, _, err := b.svc.Declare(ctx, in)
		require.Error(t, err, name)
		require.Equal(t, incident.EINVALID, incident.ErrorCode(err), name)
	}
	all, err := b.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Empty(t, all)
	require.Empty(t, b.queue.Jobs())
}

func TestDeclareTakenNameGetsSuffix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.chat.Channels["inc-2026-08-07-checkout-is-down"] = "CSOMEONE" // not the bot's
	b.chat.Channels["inc-2026-08-07-checkout-is-down-2"] = "CSOMEONE2"
	inc := declare(t, b, "checkout is down", incident.P2, "")
	require.Empty(t, b.queue.RunAll(t))
	inc, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, "inc-2026-08-07-checkout-is-down-3", inc.ChannelName)
}

func TestDeclareSecondIncidentSameTitle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := declare(t, b, "checkout is down", incident.P2, "a")
	require.Empty(t, b.queue.RunAll(t))
	second := declare(t, b, "checkout is down", incident.P2, "b")
	require.Empty(t, b.queue.RunAll(t))
	ctx := context.Background()
	first, _ = b.store.GetIncident(ctx, first.ID)
	second, _ = b.store.GetIncident(ctx, second.ID)
	require.Equal(t, "inc-2026-08-07-checkout-is-down", first.ChannelName)
	require.Equal(t, "inc-2026-08-07-checkout-is-down-2", second.ChannelName, "the bot's own channel owned by another incident is not adopted")
}

func TestSetupResumesAfterFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.chat.CreatedButFailed = 1 // Slack created the channel but the call timed out
	b.chat.Fail["pin"] = 1
	b.chat.Fail["invite"] = 1
	inc := declare(t, b, "checkout is down", incident.P1, "")
	require.Empty(t, b.queue.RunAll(t))

	inc, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Len(t, b.chat.Channels, 1, "the channel the interrupted attempt created is adopted, not duplicated")
	require.Equal(t, "C001", inc.ChannelID)
	require.Len(t, b.chat.Panels, 1, "one panel, although pinning failed once")
	require.Len(t, b.chat.Bookmarks["C001"], 1, "bookmarks added once, although the first attempt failed elsewhere")
	require.Equal(t, 1, countOf(b.chat.Calls, "topic"), "a completed step is not repeated")
	require.Equal(t, 1, countOf(b.chat.Calls, "announce"))
	require.Equal(t, incident.StatusInvestigating, inc.Status)
}

func TestSetupFailingForGoodTellsTheDeclarer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.chat.Fail["invite"] = 100
	b.chat.Fail["announce"] = 100
	inc := declare(t, b, "checkout is down", incident.P1, "")
	failed := b.queue.RunAll(t)
	require.Len(t, failed, 1)

	require.Len(t, b.chat.Replies, 1)
	reply := b.chat.Replies[0]
	require.Contains(t, reply, inc.Key()+" was declared and is recorded")
	require.Contains(t, reply, "invite the responders")
	require.Contains(t, reply, "announce the incident in the broadcast channel")
	require.NotContains(t, reply, "create the incident channel")
	require.NotContains(t, reply, "control panel")
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func ready(t *testing.T, b bundle) *incident.Incident {
	t.Helper()
	inc := declare(t, b, "checkout is down", incident.P2, "")
	require.Empty(t, b.queue.RunAll(t))
	inc, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	return inc
}

func TestAssignRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := ready(t, b)

	inc, err := b.svc.AssignRole(ctx, inc.ID, "ic", "U0JANE", "U0DECL")
	require.NoError(t, err)
	require.Equal(t, "U0JANE", inc.Commander)
	inc, err = b.svc.AssignRole(ctx, inc.ID, "comms", "U0KIM", "U0JANE")
	require.NoError(t, err)
	require.Equal(t, "U0KIM", inc.Roles["comms"])
	require.Empty(t, b.queue.RunAll(t))
	posts := b.chat.Posts[inc.ChannelID]
	require.Contains(t, posts[0], "Incident Commander handover: <@U0DECL> → <@U0JANE>")
	require.Contains(t, posts[1], "<@U0KIM> is now the comms lead")
	require.Contains(t, b.chat.Members[inc.ChannelID], "U0JANE")
	require.Contains(t, b.chat.Members[inc.ChannelID], "U0KIM")
	require.Contains(t, b.chat.Topics[inc.ChannelID], "IC <@U0JANE>")

	_, err = b.svc.AssignRole(ctx, inc.ID, "ic", "U0JANE", "U0JANE")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	_, err = b.svc.AssignRole(ctx, inc.ID, "janitor", "U0JANE", "U0JANE")
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "Roles: ic, comms, ops, scribe")
}

func TestClaimingICAcknowledges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := ready(t, b)
	_, err := b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0OTHER", "U0DECL")
	require.NoError(t, err)
	inc, _ = b.store.GetIncident(ctx, inc.ID)
	require.Nil(t, inc.AcknowledgedAt, "being assigned by someone else is not an acknowledgement")
	b.clock.Advance(16 * time.Minute)
	_, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0JANE", "U0JANE")
	require.True(t, refusalOf(err).Confirm, "taking over from an IC quiet for 15 minutes needs a confirmation")
	inc, err = b.svc.ConfirmTakeIC(ctx, inc.ID, "U0JANE")
	require.NoError(t, err)
	require.NotNil(t, inc.AcknowledgedAt)
	require.Empty(t, b.queue.RunAll(t))
	require.Contains(t, strings.Join(b.chat.Posts[inc.ChannelID], "\n"), "<@U0JANE> took over as Incident Commander from <@U0OTHER>, confirmed in the channel without a handover.")
	events, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.TakeoverConfirmed, events[len(events)-1].Payload.(incident.RoleAssignedData).Takeover, "the takeover is on the timeline")
}

func refusalOf(err error) *incident.Refusal {
	var r *incident.Refusal
	if errors.As(err, &r) {
		return r
	}
	return &incident.Refusal{}
}

func TestSeverityChange(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) {
		sp := p.Severities[incident.P1]
		sp.Invite = []string{"U0HEAD"}
		p.Severities[incident.P1] = sp
	})
	ctx := context.Background()
	inc := ready(t, b)
	inc, err := b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, incident.P1, inc.Severity)
	require.Empty(t, b.queue.RunAll(t))
	require.Contains(t, b.chat.Posts[inc.ChannelID][0], "Severity raised from P2 to P1 (critical)")
	require.Contains(t, b.chat.Members[inc.ChannelID], "U0HEAD", "the new severity's invitees join")
	require.Contains(t, strings.Join(b.chat.Posts["CBROADCAST"], "\n"), "Severity raised")

	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.Severity(9), "U0DECL")
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := ready(t, b)

	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusClosed, "U0DECL", "")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "resolve it first")

	b.clock.Advance(20 * time.Minute)
	inc, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusMitigated, "U0DECL", "")
	require.NoError(t, err)
	require.NotNil(t, inc.MitigatedAt)
	b.clock.Advance(25 * time.Minute)
	inc, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "rolled back the deploy")
	require.NoError(t, err)
	require.Equal(t, "rolled back the deploy", inc.Summary)
	require.NotNil(t, inc.ResolvedAt)
	inc, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusInvestigating, "U0DECL", "")
	require.NoError(t, err, "reopen")
	require.Nil(t, inc.ResolvedAt)
	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	inc, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusClosed, "U0DECL", "")
	require.NoError(t, err)
	require.NotNil(t, inc.ClosedAt)

	_, err = b.svc.AssignRole(ctx, inc.ID, "ic", "U0X", "U0X")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "closed")

	require.Empty(t, b.queue.RunAll(t))
	posts := strings.Join(b.chat.Posts[inc.ChannelID], "\n")
	require.Contains(t, posts, "marked the incident mitigated")
	require.Contains(t, posts, "resolved the incident after 45m00s")
	require.Contains(t, posts, "reopened the incident")
	require.Contains(t, posts, "closed the incident")

	events, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var statusEvents []string
	for _, ev := range events {
		if ev.Kind == incident.EventStatusChanged {
			require.NotEmpty(t, ev.Actor)
			require.False(t, ev.At.IsZero())
			statusEvents = append(statusEvents, string(ev.Payload.(incident.StatusChangedData).To))
		}
	}
	require.Equal(t, []string{"investigating", "mitigated", "resolved", "investigating", "resolved", "closed"}, statusEvents)
}

func TestSyncWaitsForTheChannel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.chat.Fail["create"] = 100
	inc := declare(t, b, "checkout is down", incident.P1, "")
	_, err := b.svc.AssignRole(ctx, inc.ID, "comms", "U0KIM", "U0DECL")
	require.NoError(t, err)
	failed := b.queue.RunAll(t)
	require.Len(t, failed, 2, "setup and the sync both fail while Slack is down, to be retried")
}

// TestTextThatCannotBeKeptIsRefused: a NUL, invalid UTF-8 or a control
// character in a one-line field is refused with a sentence naming the field,
// before anything is stored, in an update and a resolution summary as in a
// declare; line breaks and tabs in longer text are kept.
func TestTextThatCannotBeKeptIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout\x00down", Severity: incident.P2, DeclaredBy: "U1"})
	require.Equal(t, "The title holds a NUL character; remove it.", incident.ErrorMessage(err))

	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Description: "since 14:02\n\tcarts fail",
		Severity: incident.P3, DeclaredBy: "U1"})
	require.NoError(t, err, "line breaks and tabs in a description are text")
	require.Empty(t, b.queue.RunAll(t))

	_, err = b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U1", Known: "carts\x00fail"})
	incidenttest.RequireCode(t, err, incident.EINVALID)
	require.Contains(t, incident.ErrorMessage(err), "The update holds a NUL")
	_, err = b.svc.Resolve(ctx, inc.ID, "U1", "rolled back \x1b[31m", incident.ResolutionCheck{})
	incidenttest.RequireCode(t, err, incident.EINVALID)
	require.Equal(t, "The summary holds a control character (U+001B); remove it.", incident.ErrorMessage(err))

	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.True(t, got.Status.Open(), "the refused resolution changed nothing")
	ups, err := b.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, ups, "the refused update was not stored")
}
