package comms_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/templates"
)

// httpBundle runs the core and the communication clock against Slack's
// and a status page provider's HTTP fakes, on a store of one kind.
type httpBundle struct {
	srv   *slackfake.Server
	page  publicPage
	store incident.Store
	q     *incidenttest.Queue
	clock *incidenttest.Clock
	core  *incident.Service
	svc   *comms.Service
	pub   *comms.Publisher
	ic    slackfake.User
}

// setupHTTP publishes the checkout service's incidents (components cmp-api
// and cmp-web) on the provider's fake, and says everything in the Slack
// fake, at 14:23 UTC.
func setupHTTP(t *testing.T, kind storetest.Kind, open func(*testing.T, incident.Clock) publicPage) httpBundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	ic := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{srv.BotUserID(), ic.ID}})
	q := incidenttest.NewQueue()
	store := storetest.Open[incident.Store](t, kind, clock, q)
	page := open(t, clock)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
		StatusPage: incident.StatusPageService{Components: []string{"cmp-api", "cmp-web"}}}}
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock)).Roles()
	core := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat, Policy: policy, Clock: clock})
	core.RegisterJobs(q)
	tmpl, err := templates.Load("")
	require.NoError(t, err)
	svc := comms.New(comms.Config{Store: store, Core: core, Chat: chat, Scheduler: q, StatusPages: []comms.StatusPage{page.sp},
		Templates: tmpl, Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	core.Use(svc.Feature())
	return httpBundle{srv: srv, page: page, store: store, q: q, clock: clock, core: core, svc: svc, pub: svc.Publisher(), ic: ic}
}

// declare declares a checkout incident of the severity and opens its
// channel.
func (b httpBundle) declare(t *testing.T, sev incident.Severity) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	inc, _, err := b.core.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: sev, ServiceKey: "checkout", DeclaredBy: b.ic.ID})
	require.NoError(t, err)
	require.Empty(t, b.q.RunDue(t, b.clock.Now()))
	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	return inc
}

// run runs the jobs due now; none may fail.
func (b httpBundle) run(t *testing.T) {
	t.Helper()
	require.Empty(t, b.q.RunDue(t, b.clock.Now()))
}

// advance moves the clock in steps of step, the job engine's clock skew
// ahead of it: the engine starts each timer when its own clock says it is
// due, and the handler reads the clock of the process that runs it.
func (b httpBundle) advance(t *testing.T, d, step, skew time.Duration) {
	t.Helper()
	end := b.clock.Now().Add(d)
	for b.clock.Now().Before(end) {
		b.clock.Advance(min(step, end.Sub(b.clock.Now())))
		require.Empty(t, b.q.RunDue(t, b.clock.Now().Add(skew)))
	}
}

// said counts the messages of the incident's channel that contain sub.
func (b httpBundle) said(inc *incident.Incident, sub string) int {
	n := 0
	for _, m := range b.srv.Messages(inc.ChannelID) {
		if strings.Contains(m.Text, sub) {
			n++
		}
	}
	return n
}

// message returns the first message of the incident's channel that
// contains sub.
func (b httpBundle) message(t *testing.T, inc *incident.Incident, sub string) string {
	t.Helper()
	var texts []string
	for _, m := range b.srv.Messages(inc.ChannelID) {
		if strings.Contains(m.Text, sub) {
			return m.Text
		}
		texts = append(texts, m.Text)
	}
	t.Fatalf("no message with %q in the channel: %q", sub, texts)
	return ""
}

// requireComponents checks the service's components on the status page.
func (b httpBundle) requireComponents(t *testing.T, want incident.ComponentStatus, msgAndArgs ...any) {
	t.Helper()
	for _, id := range []string{"cmp-api", "cmp-web"} {
		require.Equal(t, want, b.page.component(id), msgAndArgs...)
	}
}

// TestResolveSetsTheComponentsOperational: resolving a public incident
// sets its components back to operational on the status page at once,
// whether or not anyone posts the resolution notice, and closing it
// without the notice leaves them so. A reopen sets them back as the
// status says, and the next resolve makes them operational again.
func TestResolveSetsTheComponentsOperational(t *testing.T) {
	t.Parallel()
	for _, provider := range publicPages {
		t.Run(provider.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
				b := setupHTTP(t, kind, provider.open)
				ctx := context.Background()
				inc := b.declare(t, incident.P1)
				_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: b.ic.ID})
				require.NoError(t, err)
				b.run(t)
				b.requireComponents(t, incident.ComponentMajorOutage, "a P1 is a major outage")

				_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "Rolled back the deploy.")
				require.NoError(t, err)
				b.run(t)
				b.requireComponents(t, incident.ComponentOperational, "resolved: operational, without the resolution notice")
				require.Equal(t, 1, b.said(inc, "Status page components for INC-1 set to operational"))
				require.Equal(t, 1, b.said(inc, "post the resolution notice on the status page?"), "the notice is still offered")

				b.advance(t, 2*time.Minute, 30*time.Second, 0)
				_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusInvestigating, b.ic.ID, "")
				require.NoError(t, err)
				b.run(t)
				b.requireComponents(t, incident.ComponentMajorOutage, "reopened: as the severity says")
				b.advance(t, 2*time.Minute, 30*time.Second, 0)
				_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "Fixed for good.")
				require.NoError(t, err)
				b.run(t)
				b.requireComponents(t, incident.ComponentOperational, "resolved again")
				require.Equal(t, 2, b.said(inc, "Status page components for INC-1 set to operational"), "once per resolve")

				_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusClosed, b.ic.ID, "")
				require.NoError(t, err)
				b.advance(t, time.Hour, 30*time.Second, 0)
				b.requireComponents(t, incident.ComponentOperational, "closed without the notice")
				require.Equal(t, 2, b.said(inc, "Status page components for INC-1 set to operational"))
			})
		})
	}
}

// TestCloseRightAfterResolveSetsTheComponentsOperational: an incident
// closed at once after its resolve, before the resolve's jobs ran, still
// has its components set operational.
func TestCloseRightAfterResolveSetsTheComponentsOperational(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
		b := setupHTTP(t, kind, publicPages[0].open)
		ctx := context.Background()
		inc := b.declare(t, incident.P1)
		_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: b.ic.ID})
		require.NoError(t, err)
		b.run(t)
		b.requireComponents(t, incident.ComponentMajorOutage)

		_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "Rolled back the deploy.")
		require.NoError(t, err)
		b.clock.Advance(time.Second)
		_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusClosed, b.ic.ID, "")
		require.NoError(t, err)
		b.run(t)
		b.requireComponents(t, incident.ComponentOperational)
		require.Equal(t, 1, b.said(inc, "Status page components for INC-1 set to operational"))
	})
}

// TestResolveSchedulesTheComponentsOncePerResolve: the hooks of a resolve
// run again (a retried hooks job) schedule the components' post once.
func TestResolveSchedulesTheComponentsOncePerResolve(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	resolved, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "fixed")
	require.NoError(t, err)
	change := incident.Change{Kind: incident.EventStatusChanged, Incident: resolved, From: string(incident.StatusInvestigating), To: string(incident.StatusResolved)}
	require.NoError(t, b.svc.Feature().Hook(ctx, change))
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.NoError(t, b.svc.Feature().Hook(ctx, change))
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Equal(t, 1, b.count("Status page components for INC-1 set to operational"))
	require.Equal(t, incident.ComponentOperational, b.page.comps["cmp-api"])
}
