package comms_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/templates"
)

// page is an in-memory StatusPage that records posts and fails on demand.
type page struct {
	mu        sync.Mutex
	incidents []comms.PublicIncident
	posts     []comms.PublicPost
	comps     map[string]incident.ComponentStatus
	// fail makes the next calls fail with this error.
	fail []error
	// actThenFail makes the next create succeed at the provider and then
	// report a failure, as a timeout after the provider acted does.
	actThenFail int
}

func newPage() *page { return &page{comps: map[string]incident.ComponentStatus{}} }

func (p *page) Name() string  { return "statuspage" }
func (p *page) Title() string { return "Statuspage" }

func (p *page) failing() error {
	if len(p.fail) > 0 {
		err := p.fail[0]
		p.fail = p.fail[1:]
		return err
	}
	return nil
}

func (p *page) Create(_ context.Context, post comms.PublicPost, recover bool) (comms.PublicIncident, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.failing(); err != nil {
		return comms.PublicIncident{}, err
	}
	if recover {
		for _, in := range p.incidents {
			if in.Status != incident.PublicResolved {
				return in, nil
			}
		}
	}
	in := comms.PublicIncident{ID: fmt.Sprintf("pub%d", len(p.incidents)+1), Status: post.Status}
	in.URL = "https://status.example.com/" + in.ID
	p.incidents = append(p.incidents, in)
	p.posts = append(p.posts, post)
	for id, st := range post.Components {
		p.comps[id] = st
	}
	if p.actThenFail > 0 {
		p.actThenFail--
		return comms.PublicIncident{}, incident.Errorf(incident.EUNAVAILABLE, "Statuspage did not answer in time.")
	}
	return in, nil
}

func (p *page) Update(_ context.Context, ref comms.PublicIncident, post comms.PublicPost, recover bool) (comms.PublicIncident, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.failing(); err != nil {
		return comms.PublicIncident{}, err
	}
	if recover && len(p.posts) > 0 && p.posts[len(p.posts)-1].Body == post.Body {
		return ref, nil
	}
	p.posts = append(p.posts, post)
	for id, st := range post.Components {
		p.comps[id] = st
	}
	ref.Status = post.Status
	p.incidents[0].Status = post.Status
	return ref, nil
}

func (p *page) SetComponents(_ context.Context, _ comms.PublicIncident, cs map[string]incident.ComponentStatus) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.failing(); err != nil {
		return err
	}
	for id, st := range cs {
		p.comps[id] = st
	}
	return nil
}

func (p *page) snapshot() ([]comms.PublicIncident, []comms.PublicPost) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]comms.PublicIncident(nil), p.incidents...), append([]comms.PublicPost(nil), p.posts...)
}

type commsBundle struct {
	core  *incident.Service
	svc   *comms.Service
	pub   *comms.Publisher
	page  *page
	store incident.Store
	chat  *incidenttest.Chat
	queue *incidenttest.Queue
	clock *incidenttest.Clock
}

// setupComms runs the core with the communication clock, an in-memory
// status page for the checkout service and the shipped templates, on the
// in-memory store.
func setupComms(t *testing.T, mutate ...func(*incident.Policy)) commsBundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	pg := newPage()
	b := setupCommsOn(t, store, q, clock, pg, mutate...)
	b.page = pg
	return b
}

// setupCommsOn runs the core with the communication clock, publishing the
// checkout service's incidents on sp, on store, whose transactions hand
// their jobs to q.
func setupCommsOn(t *testing.T, store incident.Store, q *incidenttest.Queue, clock *incidenttest.Clock, sp comms.StatusPage, mutate ...func(*incident.Policy)) commsBundle {
	t.Helper()
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
		Responders: []string{"U0ALICE", "S0TEAM", "bob@example.com"}, Runbook: "https://runbooks/checkout",
		StatusPage: incident.StatusPageService{Components: []string{"cmp-api", "cmp-web"}}}}
	for _, m := range mutate {
		m(&policy)
	}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	c.Users["S0TEAM"] = []string{"U0CAROL", "U0DAVE"}
	c.Users["bob@example.com"] = []string{"U0BOB"}
	core := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	core.RegisterJobs(q)
	tmpl, err := templates.Load("")
	require.NoError(t, err)
	svc := comms.New(comms.Config{Store: store, Core: core, Chat: c, Scheduler: q, StatusPages: []comms.StatusPage{sp},
		Templates: tmpl, Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	core.Use(svc.Feature())
	return commsBundle{core: core, svc: svc, pub: svc.Publisher(), store: store, chat: c, queue: q, clock: clock}
}

// advance moves the clock in small steps, running the timers that fall due,
// as the job engine does.
func advance(t *testing.T, b commsBundle, d time.Duration) {
	t.Helper()
	end := b.clock.Now().Add(d)
	for b.clock.Now().Before(end) {
		step := min(30*time.Second, end.Sub(b.clock.Now()))
		b.clock.Advance(step)
		b.queue.RunDue(t, b.clock.Now())
	}
}

// readyAt declares a checkout incident and opens its war room.
func readyAt(t *testing.T, b commsBundle, sev incident.Severity) *incident.Incident {
	t.Helper()
	inc, existed, err := b.core.Declare(context.Background(), incident.DeclareInput{Title: "checkout is down", Severity: sev, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.False(t, existed)
	b.queue.RunDue(t, b.clock.Now())
	inc, err = b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	return inc
}

// channel returns everything posted in the incident channel.
func (b commsBundle) channel() []string {
	b.chat.Mu.Lock()
	defer b.chat.Mu.Unlock()
	return append([]string(nil), b.chat.Posts["C001"]...)
}

func (b commsBundle) count(substr string) int {
	n := 0
	for _, p := range b.channel() {
		if strings.Contains(p, substr) {
			n++
		}
	}
	return n
}

func (b commsBundle) timeline(t *testing.T, id int64) []incident.TimelineEvent {
	t.Helper()
	events, err := b.store.ListTimeline(context.Background(), id)
	require.NoError(t, err)
	return events
}

func TestCommsClockDraftNudgeEscalation(t *testing.T) {
	t.Parallel()
	b := setupComms(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	inc := readyAt(t, b, incident.P1)

	require.Equal(t, 1, b.count("*Status page draft for INC-1* (Statuspage)"), "the draft is in the channel at declare")
	draft := b.channel()[b.indexOf("Status page draft")]
	require.Contains(t, draft, "within 10 minutes, by 14:33 UTC")
	require.Contains(t, draft, "We are aware of an issue affecting Checkout")
	require.Contains(t, draft, "[Publish:statuspage_publish=1|ack||t:We are aware of an issue affecting Checkout.", "the button carries the text shown")
	require.Contains(t, draft, "[Edit:statuspage_edit=1|ack||t:We are aware of an issue affecting Checkout.")
	require.Contains(t, draft, "[Not customer-facing:statuspage_decline=1]")

	advance(t, b, 4*time.Minute)
	require.Zero(t, b.count("is not on the status page yet"), "no nudge before 5 minutes")
	advance(t, b, time.Minute+30*time.Second)
	require.Equal(t, 1, b.count("<@U0DECL>, *INC-1 is not on the status page yet*: 5 minutes left of the 10 minutes target"))
	require.Contains(t, strings.Join(b.chat.Replies, "\n"), "U0DECL: INC-1 is not on the status page yet")

	advance(t, b, 5*time.Minute)
	require.Equal(t, 1, b.count("*INC-1: 10 minutes without a status page post.*"))
	require.Equal(t, 1, b.count("<@U0DECL>, <!subteam^S0ICS>, please publish now"))
	advance(t, b, 20*time.Minute)
	require.Equal(t, 1, b.count("without a status page post"), "each step is said once")

	var kinds []string
	for _, ev := range b.timeline(t, inc.ID) {
		if ev.Kind == incident.EventComms {
			kinds = append(kinds, ev.SourceID)
		}
	}
	require.Subset(t, kinds, []string{"comms:draft", "comms:nudge", "comms:escalate"})
	inc, _ = b.store.GetIncident(context.Background(), inc.ID)
	require.Empty(t, inc.PublicID, "nothing is posted without a click")
}

func (b commsBundle) indexOf(substr string) int {
	for i, p := range b.channel() {
		if strings.Contains(p, substr) {
			return i
		}
	}
	return -1
}

func TestCommsClockOnlyForItsSeverities(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	readyAt(t, b, incident.P2)
	advance(t, b, 15*time.Minute)
	require.Zero(t, b.count("status page"), "P2 has no clock by default")

	b = setupComms(t, func(p *incident.Policy) {
		sp := p.Severities[incident.P2]
		sp.StatusPageWithin = 20 * time.Minute
		p.Severities[incident.P2] = sp
	})
	readyAt(t, b, incident.P2)
	require.Equal(t, 1, b.count("Status page draft"))
	advance(t, b, 10*time.Minute+30*time.Second)
	require.Equal(t, 1, b.count("10 minutes left of the 20 minutes target"))
}

func TestPublishLifecycle(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 3*time.Minute)

	_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0STRANGER"})
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "only the IC, the comms lead or a publisher may post")

	ok, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	require.True(t, ok)
	again, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	require.False(t, again, "a double click posts once")
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

	pubs, posts := b.page.snapshot()
	require.Len(t, pubs, 1)
	require.Len(t, posts, 1)
	require.Equal(t, "Issue affecting Checkout", posts[0].Name)
	require.Equal(t, incident.PublicInvestigating, posts[0].Status)
	require.Equal(t, "critical", posts[0].Impact)
	require.True(t, posts[0].Notify)
	require.Equal(t, map[string]incident.ComponentStatus{"cmp-api": incident.ComponentMajorOutage, "cmp-web": incident.ComponentMajorOutage}, posts[0].Components)
	require.True(t, strings.HasPrefix(posts[0].Body, "We are aware of an issue affecting Checkout"), posts[0].Body)

	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, [3]string{"statuspage", "pub1", "https://status.example.com/pub1"}, [3]string{inc.PublicProvider, inc.PublicID, inc.PublicURL})
	require.Equal(t, 1, b.count("Posted on the status page (Statuspage · investigating) by <@U0DECL>: <https://status.example.com/pub1|pub1>, 3m00s after the declaration"))
	first, ok := incident.FirstPublicPost(b.timeline(t, inc.ID))
	require.True(t, ok)
	require.Equal(t, inc.DeclaredAt.Add(3*time.Minute), first)

	advance(t, b, 10*time.Minute)
	require.Zero(t, b.count("is not on the status page yet"), "posting stops the clock")
	require.Zero(t, b.count("without a status page post"))

	// An update offers the status page, pre-filled.
	_, err = b.core.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "a bad deploy; rolling back"})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	offer := b.channel()[b.indexOf("Also post this update to the status page?")]
	require.Contains(t, offer, "a bad deploy; rolling back")
	id, kind, ref, err := comms.ParsePublishValue(between(offer, "statuspage_publish=", "]"))
	require.NoError(t, err)
	_, err = b.pub.Publish(ctx, id, comms.PublishInput{Kind: kind, Ref: ref, Actor: "U0DECL"})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	_, posts = b.page.snapshot()
	require.Len(t, posts, 2)
	require.Contains(t, posts[1].Body, "a bad deploy; rolling back")
	require.Equal(t, incident.PublicInvestigating, posts[1].Status)

	// Severity maps to component status.
	_, err = b.core.SetSeverity(ctx, inc.ID, incident.P2, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Equal(t, incident.ComponentPartialOutage, b.page.comps["cmp-api"])
	require.Equal(t, 1, b.count("Status page components for INC-1 set to partial outage"))

	_, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostResolution, Actor: "U0DECL"})
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "no resolution notice for an open incident")

	// Mitigating shows degraded performance; resolving proposes the notice.
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusMitigated, "U0DECL", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Equal(t, incident.ComponentDegraded, b.page.comps["cmp-api"])
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "Rolled back the 14:02 deploy.")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	notice := b.channel()[b.indexOf("post the resolution notice on the status page?")]
	require.Contains(t, notice, "has been resolved")
	id, kind, ref, err = comms.ParsePublishValue(between(notice, "statuspage_publish=", "]"))
	require.NoError(t, err)
	require.Equal(t, incident.PostResolution, kind)
	_, err = b.pub.Publish(ctx, id, comms.PublishInput{Kind: kind, Ref: ref, Actor: "U0DECL", Body: "Fixed. Sorry."})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	pubs, posts = b.page.snapshot()
	require.Equal(t, incident.PublicResolved, posts[len(posts)-1].Status)
	require.Equal(t, "Fixed. Sorry.", posts[len(posts)-1].Body)
	require.Equal(t, incident.ComponentOperational, b.page.comps["cmp-api"])
	require.Equal(t, incident.PublicResolved, pubs[0].Status)
	require.Equal(t, 1, b.count("Posted the resolution notice on the status page"))
	_, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostUpdate, Ref: "late", Actor: "U0DECL"})
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "updates are for open incidents")
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}

func TestStillInvestigatingProposedAfterAQuietSpell(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	advance(t, b, 29*time.Minute)
	require.Zero(t, b.count("nothing was posted on the status page"))
	advance(t, b, 2*time.Minute)
	require.Equal(t, 1, b.count("*nothing was posted on the status page for 30 minutes* about INC-1"))
	require.Contains(t, b.channel()[b.indexOf("nothing was posted")], "We are continuing to investigate")
	advance(t, b, 30*time.Minute)
	require.Equal(t, 2, b.count("nothing was posted on the status page"), "proposed again after another quiet spell")
}

func TestCustomerEmailClock(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 29*time.Minute)
	require.Zero(t, b.count("*Customer e-mail*"))
	advance(t, b, 2*time.Minute)
	require.Equal(t, 1, b.count("*Customer e-mail*: INC-1 has been open for 30 minutes"))
	email := b.channel()[b.indexOf("*Customer e-mail*")]
	require.Contains(t, email, "Subject: Checkout disruption")
	require.Contains(t, email, "[Sent:customer_email_sent=1]")
	require.Contains(t, email, "[Not needed:customer_email_not_needed=1]")

	for _, sent := range []bool{true, false} {
		_, err := b.svc.CustomerEmail(ctx, inc.ID, sent, "U0STRANGER")
		require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "only who may publish records the e-mail")
	}
	_, err := b.svc.CustomerEmail(ctx, inc.ID, true, "U0DECL")
	require.NoError(t, err)
	_, err = b.svc.CustomerEmail(ctx, inc.ID, false, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "the choice is recorded once")
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Equal(t, 1, b.count("Customers were told by e-mail at 14:54 UTC"))
	var decided []incident.TimelineEvent
	for _, ev := range b.timeline(t, inc.ID) {
		if ev.SourceID == "comms:email:decision" {
			decided = append(decided, ev)
		}
	}
	require.Len(t, decided, 1)
	require.True(t, decided[0].Key)
	require.Equal(t, incident.CommsStepData{Email: incident.EmailSent}, decided[0].Payload)

	// Fixed within 30 minutes: no e-mail.
	b = setupComms(t)
	inc = readyAt(t, b, incident.P1)
	advance(t, b, 20*time.Minute)
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	advance(t, b, 20*time.Minute)
	require.Zero(t, b.count("*Customer e-mail*"))

	// A data concern proposes it at once, whatever the severity.
	b = setupComms(t)
	inc = readyAt(t, b, incident.P3)
	_, err = b.svc.FlagDataConcern(ctx, inc.ID, "U0STRANGER")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "only who may publish flags a data concern")
	_, err = b.svc.FlagDataConcern(ctx, inc.ID, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Equal(t, 1, b.count("*Customer e-mail*: INC-1 was flagged for a data concern"))
}

func TestNotCustomerFacingStopsTheClock(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.Decline(ctx, inc.ID, "U0OTHER")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	_, err = b.core.AssignRole(ctx, inc.ID, "comms", "U0COMMS", "U0DECL")
	require.NoError(t, err)
	_, err = b.svc.Decline(ctx, inc.ID, "U0COMMS")
	require.NoError(t, err, "the comms lead may decide")
	advance(t, b, 15*time.Minute)
	require.Equal(t, 1, b.count("<@U0COMMS> marked INC-1 not customer-facing"))
	require.Zero(t, b.count("is not on the status page yet"))
	require.Zero(t, b.count("without a status page post"))
}

func TestStatusPageDownRetriesAndNeverPostsTwice(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	down := incident.Errorf(incident.EUNAVAILABLE, "Statuspage is down (HTTP 503).")
	b.page.fail = []error{down, down}
	b.page.actThenFail = 1 // then the third attempt creates and times out
	_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

	require.Equal(t, 1, b.count("*The status page post for INC-1 failed* (Statuspage): Statuspage is down (HTTP 503). Retrying in the background"),
		"the channel hears once, with the reason")
	clicked := b.clock.Now().Unix()
	require.Equal(t, 1, b.count(fmt.Sprintf("[Retry:statuspage_retry=1|ack||1|%d]", clicked)), "the retry keeps when the post was asked for")
	pubs, posts := b.page.snapshot()
	require.Len(t, pubs, 1, "the interrupted create is adopted, not repeated")
	require.Len(t, posts, 1)
	inc, _ = b.store.GetIncident(ctx, inc.ID)
	require.Equal(t, "pub1", inc.PublicID)

	// Retry after success says it is already there.
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(b.pub.RetryStatusPage(ctx, "1|ack||1", "U0DECL")))

	// A refusal is final: said once, no retries.
	b2 := setupComms(t)
	inc2 := readyAt(t, b2, incident.P1)
	b2.page.fail = []error{incident.Errorf(incident.EFORBIDDEN, "Statuspage refused the API key (HTTP 401)."), down, down}
	_, err = b2.pub.Publish(ctx, inc2.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Body: "Custom words.", Actor: "U0DECL"})
	require.NoError(t, err)
	require.Len(t, b2.queue.RunDue(t, b2.clock.Now()), 1)
	require.Equal(t, 1, b2.count("Sending it again as it is cannot help"))
	require.Len(t, b2.page.fail, 2, "no retry after a refusal")
	b2.page.fail = nil
	require.NoError(t, b2.pub.RetryStatusPage(ctx, "1|ack||1", "U0DECL"))
	require.Empty(t, b2.queue.RunDue(t, b2.clock.Now()))
	_, posts = b2.page.snapshot()
	require.Len(t, posts, 1)
	require.Equal(t, "Custom words.", posts[0].Body, "the retry posts the edited text")
}

func TestDraftsAreWrittenForCustomers(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	inc := readyAt(t, b, incident.P1)
	for _, kind := range []string{incident.PostAcknowledge, incident.PostStillInvestigating, incident.PostResolution} {
		text, err := b.pub.Draft(context.Background(), inc.ID, kind, "")
		require.NoError(t, err)
		require.NotContains(t, text, "Posted ", "%s: the status page stamps posts itself", kind)
		require.NotRegexp(t, `^(Investigating|Update|Resolved) - `, text, "%s: the status page shows the status itself", kind)
		require.Contains(t, text, "Checkout", kind)
	}
}

func TestStatusPageNeverShowsTheInternalTitle(t *testing.T) {
	t.Parallel()
	b := setupComms(t, func(p *incident.Policy) {
		p.Services["search"] = incident.ServicePolicy{Key: "search", StatusPage: incident.StatusPageService{Components: []string{"cmp-search"}}}
		p.Services["billing"] = incident.ServicePolicy{Key: "billing", Name: "Billing"}
	})
	ctx := context.Background()
	declareOn := func(service, title string, private bool) *incident.Incident {
		t.Helper()
		inc, _, err := b.core.Declare(ctx, incident.DeclareInput{Title: title, Severity: incident.P1, ServiceKey: service,
			DeclaredBy: "U0DECL", Private: private, ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
		require.NoError(t, err)
		require.Empty(t, b.queue.RunAll(t))
		return inc
	}

	// No status page mapping, or no service: no provider, no clock.
	for _, inc := range []*incident.Incident{declareOn("billing", "billing db failover", false), declareOn("", "something is off", false)} {
		_, _, ok := b.pub.StatusPageFor(inc)
		require.False(t, ok, "%s of service %q", inc.Key(), inc.Service)
		_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
		require.Error(t, err, "%s of service %q", inc.Key(), inc.Service)
	}
	_, none := b.page.snapshot()
	require.Empty(t, none, "nothing published")

	// A mapped service without a public name: a generic name.
	unnamed := declareOn("search", "reindex job dropped the tenant-42 index", false)
	ok, err := b.pub.Publish(ctx, unnamed.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	require.True(t, ok)
	// A private incident: only its redacted name.
	private := declareOn("checkout", "card numbers in the access logs", true)
	ok, err = b.pub.Publish(ctx, private.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	require.True(t, ok)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	_, posts := b.page.snapshot()
	require.Len(t, posts, 2)
	require.Equal(t, "Service disruption", posts[0].Name)
	require.Equal(t, "Issue affecting Checkout", posts[1].Name, "named as any incident of its service")
	require.NotContains(t, posts[0].Body, "tenant-42", "nor does the text customers read")
	require.NotContains(t, posts[1].Body, "card numbers")
}

func TestPublicPostOfPrivateIncidentKeepsItsTitleOut(t *testing.T) {
	t.Parallel()
	// A service without a public name: the drafts would otherwise name
	// what is affected by the incident's title.
	b := setupComms(t, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.Name = ""
		p.Services["checkout"] = svc
	})
	ctx := context.Background()
	inc, _, err := b.core.Declare(ctx, incident.DeclareInput{Title: "Acme merger data exposed", Severity: incident.P1, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", Private: true, ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	b.queue.RunDue(t, b.clock.Now())

	_, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	_, posts := b.page.snapshot()
	require.Len(t, posts, 1)
	require.Equal(t, "Service disruption", posts[0].Name)
	require.NotContains(t, posts[0].Body, "Acme", "the public text never carries a private incident's title")

	drafts, err := b.svc.Comms(ctx, inc.ID)
	require.NoError(t, err)
	for _, d := range drafts {
		require.NotContains(t, d.Text, "Acme", "%s is written for customers", d.Title)
	}
}

func TestRetriedPostsRecoverOnlyWhatWasPostedSinceTheClick(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 3*time.Minute)
	clicked := b.clock.Now()
	down := incident.Errorf(incident.EUNAVAILABLE, "Statuspage is down (HTTP 503).")
	refused := incident.Errorf(incident.EINVALID, "Statuspage rejected the post (HTTP 422).")
	b.page.fail = []error{down, refused}
	_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	require.Len(t, b.queue.RunDue(t, b.clock.Now()), 1, "down, then refused: final")
	advance(t, b, 10*time.Minute)

	// The Retry button, long after the click, still recovers from the click.
	var value string
	for _, p := range b.channel() {
		if v := between(p, "statuspage_retry=", "]"); v != "" {
			value = v
		}
	}
	require.NotEmpty(t, value)
	require.NoError(t, b.pub.RetryStatusPage(ctx, value, "U0DECL"))
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	_, posts := b.page.snapshot()
	require.Len(t, posts, 1)
	require.Equal(t, clicked, posts[0].RequestedAt, "a provider recovers only what was posted since the post was asked for")
}

// A raise to a severity with a status page clock starts the clock at the
// raise as committed, not when the change's hooks happen to run (a retry of
// incident.JobHooks minutes later): the nudge is due half the target after
// the raise.
func TestRaiseStartsTheClockAtTheRaise(t *testing.T) {
	t.Parallel()
	b := setupComms(t)
	inc := readyAt(t, b, incident.P3)
	raisedAt := b.clock.Now()
	raised := *inc
	raised.Severity, raised.UpdatedAt = incident.P1, raisedAt
	b.clock.Advance(4 * time.Minute) // the hooks run late
	change := incident.Change{Kind: incident.EventSeverityChanged, Incident: &raised, From: "P3", To: "P1"}
	require.NoError(t, b.svc.Feature().Hook(context.Background(), change))
	b.clock.Advance(2 * time.Minute) // and run again
	require.NoError(t, b.svc.Feature().Hook(context.Background(), change))
	within := incident.DefaultPolicy().Severity(incident.P1).StatusPageWithin
	require.Positive(t, within)
	var nudgeAt []time.Time
	for _, j := range b.queue.Jobs() {
		if strings.HasPrefix(j.Key, fmt.Sprintf("comms:%d:nudge:", inc.ID)) {
			nudgeAt = append(nudgeAt, j.RunAt)
		}
	}
	require.Equal(t, []time.Time{raisedAt.Add(within / 2)}, nudgeAt, "one nudge, half the target after the raise")
}
