package paging_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// pager is a Pager that records pages and honours dedup keys as PagerDuty
// does.
type pager struct {
	mu       sync.Mutex
	pages    map[string]*incident.Page
	requests []incident.PageRequest
	acks     []string
	resolved []string
	fail     error
	// escalated lists the pages escalated; escalateErr refuses. levels are
	// the escalation levels of the pages escalated, by dedup key (1 when
	// absent).
	escalated   []string
	escalateErr error
	levels      map[string]int
	// emails are the people each page reached, by dedup key.
	emails map[string][]string
}

func (p *pager) NextEscalationLevel(_ context.Context, page incident.Page) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.escalateErr != nil {
		return 0, p.escalateErr
	}
	return max(p.levels[page.DedupKey], 1) + 1, nil
}

func (p *pager) EscalateTo(_ context.Context, page incident.Page, level int) (*incident.Page, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.escalateErr != nil {
		return nil, false, p.escalateErr
	}
	out := page
	out.Assignees = []string{"Carol Backup"}
	if max(p.levels[page.DedupKey], 1) >= level {
		return &out, false, nil
	}
	p.levels[page.DedupKey] = level
	p.escalated = append(p.escalated, page.DedupKey)
	p.emails[page.DedupKey] = append(p.emails[page.DedupKey], "carol@example.com")
	return &out, true, nil
}

func (p *pager) Responders(_ context.Context, page incident.Page) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.emails[page.DedupKey]...), nil
}

func newPager() *pager {
	return &pager{pages: map[string]*incident.Page{}, emails: map[string][]string{}, levels: map[string]int{}}
}

func (p *pager) Page(_ context.Context, req incident.PageRequest) (*incident.Page, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return nil, p.fail
	}
	p.requests = append(p.requests, req)
	if pg, ok := p.pages[req.DedupKey]; ok {
		cp := *pg
		return &cp, nil
	}
	pg := &incident.Page{Provider: "pagerduty", ExternalID: "PD" + req.DedupKey, Status: "triggered", Assignees: []string{"Bob Roe"}}
	p.pages[req.DedupKey] = pg
	p.emails[req.DedupKey] = []string{"oncall@example.com"}
	cp := *pg
	return &cp, nil
}

// Acknowledge and Resolve give no time, as PagerDuty's Events API.
func (p *pager) Acknowledge(_ context.Context, page incident.Page, email string) (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.acks = append(p.acks, page.DedupKey+" by "+email)
	return time.Time{}, nil
}

func (p *pager) Resolve(_ context.Context, page incident.Page) (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resolved = append(p.resolved, page.DedupKey)
	return time.Time{}, nil
}

func (p *pager) OnCall(context.Context, incident.ServicePolicy) ([]incident.OnCall, error) {
	return []incident.OnCall{{Level: 1, Name: "Bob Roe", Schedule: "Primary"}}, nil
}

func pagingSetup(t *testing.T, mutate ...func(*incident.Policy)) (bundle, *pager) {
	t.Helper()
	pg := newPager()
	return setup(t, pg, mutate...), pg
}

func TestPagingPerSeverity(t *testing.T) {
	t.Parallel()
	for sev, want := range map[incident.Severity]string{incident.P1: "backup", incident.P2: "oncall", incident.P3: "", incident.P4: ""} {
		b, pg := pagingSetup(t)
		inc := declare(t, b, "checkout is down", sev, "")
		require.Empty(t, b.queue.RunAll(t))
		inc, _ = b.store.GetIncident(context.Background(), inc.ID)
		switch want {
		case "":
			require.Empty(t, pg.requests, "%s pages nobody", sev)
		default:
			require.Len(t, pg.requests, 1, sev)
			req := pg.requests[0]
			require.Equal(t, want == "backup", req.Backup, sev)
			require.Equal(t, "firebreak-inst-1-checkout", req.DedupKey)
			require.Equal(t, "decl@example.com", req.FromEmail, "attributed to the declarer")
			require.Equal(t, "high", req.Urgency)
			posts := strings.Join(b.chat.Posts[inc.ChannelID], "\n")
			require.Contains(t, posts, "Paged *Checkout* in PagerDuty: Bob Roe")
			require.Contains(t, posts, "[Acknowledge:page_ack=firebreak-inst-1-checkout]")
		}
	}
}

func TestPageOverrideAndNoDoublePage(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	ctx := context.Background()
	no := false
	_, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "quiet", Severity: incident.P1, ServiceKey: "checkout", DeclaredBy: "U0DECL", Page: &no})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Empty(t, pg.requests, "the declarer chose not to page")

	inc := declare(t, b, "loud", incident.P2, "")
	require.Empty(t, b.queue.RunAll(t))
	// A retried job (the same page again) never pages twice or posts twice.
	_, err = b.pg.Page(ctx, inc.ID, "checkout", "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, pg.pages, 2, "a deliberate re-page is a new page (round 1)")
	pages, err := b.store.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, pages, 2)
}

func TestAcknowledgementFromWebhookAndSlack(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	b.clock.Advance(3*time.Minute + 12*time.Second)

	ev := incident.PageEvent{DeliveryID: "EV1", Kind: incident.PageAcknowledged, DedupKey: "firebreak-inst-1-checkout", Agent: "Jane Doe", At: b.clock.Now()}
	require.NoError(t, b.pg.HandlePageEvent(ctx, ev))
	require.NoError(t, b.pg.HandlePageEvent(ctx, ev), "a redelivery")
	require.Empty(t, b.queue.RunAll(t))
	posts := strings.Join(b.chat.Posts[inc.ChannelID], "\n")
	require.Equal(t, 1, strings.Count(posts, "Acknowledged by Jane Doe in PagerDuty, 3m12s after the page."))
	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotNil(t, got.AcknowledgedAt)
	require.Equal(t, b.clock.Now(), *got.AcknowledgedAt, "the first acknowledgement sets MTTA")

	// Other events become lines too; unknown pages are ignored.
	for _, k := range []incident.PageEventKind{incident.PageUnacknowledged, incident.PageEscalated, incident.PageReassigned, incident.PageReopened, incident.PageResolved} {
		require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-" + string(k), Kind: k, DedupKey: "firebreak-inst-1-checkout", Agent: "Jane Doe", Assignees: []string{"Carol"}}))
	}
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-X", Kind: incident.PageAcknowledged, DedupKey: "someone-elses"}))
	require.Empty(t, b.queue.RunAll(t))
	posts = strings.Join(b.chat.Posts[inc.ChannelID], "\n")
	for _, want := range []string{"unacknowledged again", "escalated the page for checkout to Carol", "reassigned the page", "reopened in PagerDuty", "resolved in PagerDuty by Jane Doe"} {
		require.Contains(t, posts, want)
	}
	page, err := b.store.FindPage(ctx, "pagerduty", "firebreak-inst-1-checkout")
	require.NoError(t, err)
	require.NotNil(t, page.ResolvedAt)
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-reopen-2", Kind: incident.PageReopened, DedupKey: "firebreak-inst-1-checkout", Agent: "Jane Doe"}))
	page, err = b.store.FindPage(ctx, "pagerduty", "firebreak-inst-1-checkout")
	require.NoError(t, err)
	require.Nil(t, page.ResolvedAt, "a reopened page is not resolved")
	require.Equal(t, "triggered", page.Status)

	// Acknowledge from Slack: as the clicking user's e-mail.
	require.NoError(t, b.pg.AcknowledgePage(ctx, "firebreak-inst-1-checkout", "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
	require.Empty(t, b.queue.RunAll(t))
	require.Equal(t, []string{"firebreak-inst-1-checkout by kim@example.com"}, pg.acks)
}

func TestPageFailureIsSaidOnceAndRetried(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	inc := readyAt(t, b, incident.P3)
	pg.fail = incident.Errorf(incident.EUNAVAILABLE, "PagerDuty is not responding (HTTP 503 after 4 attempts).")
	_, err := b.pg.Page(context.Background(), inc.ID, "", "U0DECL")
	require.NoError(t, err)
	b.queue.RunAll(t) // retried every 15s, bounded in this fake
	posts := strings.Join(b.chat.Posts[inc.ChannelID], "\n")
	require.Equal(t, 1, strings.Count(posts, "*Paging Checkout failed*: PagerDuty is not responding (HTTP 503 after 4 attempts). Retrying in the background."))
	require.Contains(t, posts, "[Retry page:page_retry=")

	// A refusal is final, and said so.
	b2, pg2 := pagingSetup(t)
	inc2 := readyAt(t, b2, incident.P3)
	pg2.fail = incident.Errorf(incident.EINVALID, "No PagerDuty service PXXX.")
	_, err = b2.pg.Page(context.Background(), inc2.ID, "", "U0DECL")
	require.NoError(t, err)
	b2.queue.RunAll(t)
	require.Contains(t, strings.Join(b2.chat.Posts[inc2.ChannelID], "\n"), "Retrying cannot fix this")
}

func TestRaiseToP1PagesTheBackupAndResolveResolvesPages(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, pg.requests, 2)
	require.True(t, pg.requests[1].Backup)
	require.Equal(t, pg.requests[0].DedupKey, pg.requests[1].DedupKey, "the same page gains the backup")
	require.Len(t, pg.pages, 1)
	require.Contains(t, strings.Join(b.chat.Posts[inc.ChannelID], "\n"), "(and the backup)")

	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Equal(t, []string{"firebreak-inst-1-checkout"}, pg.resolved)
}

func TestPrivateIncidentPageIsRedacted(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	ctx := context.Background()
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "payroll export leaks salaries", Description: "the CSV is public",
		Severity: incident.P1, ServiceKey: "checkout", DeclaredBy: "U0DECL", Private: true})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, pg.requests, 1)
	require.Equal(t, "Private incident "+inc.Key(), pg.requests[0].Title, "the title stays in Slack")
	require.Empty(t, pg.requests[0].Details)

	// A policy may let the title through.
	b2, pg2 := pagingSetup(t, func(p *incident.Policy) { p.PrivatePages = incident.DiscloseFull })
	_, _, err = b2.svc.Declare(ctx, incident.DeclareInput{Title: "payroll export leaks salaries", Severity: incident.P1, ServiceKey: "checkout", DeclaredBy: "U0DECL", Private: true})
	require.NoError(t, err)
	require.Empty(t, b2.queue.RunAll(t))
	require.Equal(t, "payroll export leaks salaries", pg2.requests[0].Title)
}
