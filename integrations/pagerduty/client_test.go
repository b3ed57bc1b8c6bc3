package pagerduty_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/integrations/outbound"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

var t0 = time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)

// bundle is a PagerDuty client wired to a fake PagerDuty through the
// shared outbound client, with one service reachable over REST and one
// only through an Events API v2 routing key.
type bundle struct {
	fake   *pdfake.Server
	client *pagerduty.Client
	// rest is paged with the REST API, events with a routing key.
	rest, events incident.ServicePolicy
	// alice declares; bob is on call at level 1 and carol at level 2.
	alice, bob, carol pdfake.User
	policyID          string
	// clock is PagerDuty's.
	clock *incidenttest.Clock
}

type option func(*pagerduty.Config)

func setup(t *testing.T, opts ...option) *bundle {
	t.Helper()
	clock := incidenttest.NewClock(t0)
	fake := pdfake.New(pdfake.WithClock(clock.Now))
	t.Cleanup(fake.Close)

	b := &bundle{fake: fake, policyID: "PEP0001", clock: clock}
	fake.AddEscalationPolicy(b.policyID, "Checkout on-call")
	restSvc := fake.AddService(pdfake.Service{ID: "PSVC001", Name: "Checkout", EscalationPolicyID: b.policyID})
	eventsSvc := fake.AddService(pdfake.Service{ID: "PSVC002", Name: "Search", EscalationPolicyID: b.policyID})
	b.alice = fake.AddUser(pdfake.User{Name: "Alice Declarer", Email: "alice@example.com"})
	b.bob = fake.AddUser(pdfake.User{Name: "Bob Primary", Email: "bob@example.com"})
	b.carol = fake.AddUser(pdfake.User{Name: "Carol Backup", Email: "carol@example.com"})
	fake.AddUser(pdfake.User{Name: "Bobby Other", Email: "bobby@example.com"})
	fake.AddUser(pdfake.User{Name: "Resolver Bot", Email: "bot@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: b.policyID, Level: 2, UserID: b.carol.ID, Schedule: "Checkout secondary", End: t0.Add(48 * time.Hour)})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: b.policyID, Level: 1, UserID: b.bob.ID, Schedule: "Checkout primary", End: t0.Add(8 * time.Hour)})

	b.rest = incident.ServicePolicy{Key: "checkout", Name: "Checkout", PagerDuty: incident.PagerDutyService{ServiceID: restSvc.ID}}
	b.events = incident.ServicePolicy{Key: "search", Name: "Search", PagerDuty: incident.PagerDutyService{RoutingKey: eventsSvc.RoutingKey}}

	ob := outbound.New(outbound.Policy{Provider: "pagerduty", InitialInterval: time.Millisecond, MaxInterval: time.Millisecond},
		outbound.WithClock(clock.Now),
		outbound.WithSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
	cfg := pagerduty.Config{
		APIURL: fake.URL(), EventsURL: fake.EventsURL(),
		Token: fake.Token(), FromEmail: "bot@example.com",
		HTTPClient: ob.HTTPClient(), Clock: clock,
		Services: func(key string) (incident.ServicePolicy, bool) {
			switch key {
			case b.rest.Key:
				return b.rest, true
			case b.events.Key:
				return b.events, true
			}
			return incident.ServicePolicy{}, false
		},
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	b.client = pagerduty.New(cfg)
	return b
}

func (b *bundle) request(svc incident.ServicePolicy) incident.PageRequest {
	return incident.PageRequest{
		IncidentID: 42, IncidentKey: "INC-42", Title: "Checkout is down",
		Details: "Payments fail with 502.", Severity: incident.P1, Service: svc,
		Urgency: "high", FromEmail: b.alice.Email, DedupKey: "firebreak-42-" + svc.Key,
		Link: "https://slack.example.com/archives/C042",
	}
}

// callsTo returns the calls the fake received for method and path.
func callsTo(fake *pdfake.Server, method, path string) []pdfake.Call {
	var out []pdfake.Call
	for _, c := range fake.Calls() {
		if c.Method == method && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func TestPageREST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fromEmail string
		urgency   string
		wantFrom  string
	}{
		{name: "as the declarer", fromEmail: "alice@example.com", urgency: "high", wantFrom: "alice@example.com"},
		{name: "falls back to the bot's e-mail", fromEmail: "", urgency: "low", wantFrom: "bot@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			req := b.request(b.rest)
			req.FromEmail, req.Urgency = tt.fromEmail, tt.urgency

			page, err := b.client.Page(t.Context(), req)
			require.NoError(t, err)

			incs := b.fake.Incidents()
			require.Len(t, incs, 1)
			inc := incs[0]
			require.Equal(t, "rest", inc.CreatedVia)
			require.Equal(t, tt.wantFrom, inc.CreatedBy)
			require.Equal(t, "[INC-42] Checkout is down", inc.Title)
			require.Equal(t, tt.urgency, inc.Urgency)
			require.Equal(t, req.DedupKey, inc.IncidentKey)
			require.Equal(t, "PSVC001", inc.ServiceID)
			require.Contains(t, inc.Details, "Payments fail with 502.")
			require.Contains(t, inc.Details, req.Link)
			require.Equal(t, []string{b.bob.ID}, inc.Notified, "level 1 only")

			creates := callsTo(b.fake, http.MethodPost, "/incidents")
			require.Len(t, creates, 1)
			require.Equal(t, tt.wantFrom, creates[0].From)

			require.Equal(t, &incident.Page{
				IncidentID: 42, Provider: "pagerduty", ExternalID: inc.ID, DedupKey: req.DedupKey,
				Service: "checkout", URL: b.fake.URL() + "/incidents/" + inc.ID, Status: "triggered",
				Assignees: []string{"Bob Primary"}, CreatedAt: t0, StatusAt: &t0,
			}, page)
		})
	}
}

func TestPageEventsV2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		severity incident.Severity
		want     string
	}{
		{incident.P1, "critical"},
		{incident.P2, "error"},
		{incident.P3, "warning"},
		{incident.P4, "warning"},
	}
	for _, tt := range tests {
		t.Run(tt.severity.String(), func(t *testing.T) {
			t.Parallel()
			// No REST token: the routing key is the only way in.
			b := setup(t, func(c *pagerduty.Config) { c.Token = "" })
			req := b.request(b.events)
			req.Severity = tt.severity

			page, err := b.client.Page(t.Context(), req)
			require.NoError(t, err)

			evs := b.fake.Events()
			require.Len(t, evs, 1)
			ev := evs[0]
			require.Equal(t, http.StatusAccepted, ev.Status)
			require.Equal(t, "trigger", ev.Action)
			require.Equal(t, b.events.PagerDuty.RoutingKey, ev.RoutingKey)
			require.Equal(t, req.DedupKey, ev.DedupKey)
			require.Equal(t, tt.want, ev.Severity)
			require.Equal(t, "[INC-42] Checkout is down", ev.Summary)
			require.Equal(t, "firebreak", ev.Source)
			require.Equal(t, "INC-42", ev.CustomDetails["incident"])
			require.Equal(t, req.Link, ev.CustomDetails["link"])

			require.Equal(t, "pagerduty", page.Provider)
			require.Equal(t, req.DedupKey, page.ExternalID)
			require.Equal(t, req.DedupKey, page.DedupKey)
			require.Equal(t, "triggered", page.Status)
			require.Equal(t, "search", page.Service)

			incs := b.fake.Incidents()
			require.Len(t, incs, 1)
			require.Equal(t, "events", incs[0].CreatedVia)
			require.Empty(t, callsTo(b.fake, http.MethodPost, "/incidents"))
		})
	}
}

func TestPageBackupAssignsLevelTwo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.request(b.rest)
	req.Backup = true

	page, err := b.client.Page(t.Context(), req)
	require.NoError(t, err)

	incs := b.fake.Incidents()
	require.Len(t, incs, 1)
	require.ElementsMatch(t, []string{b.bob.ID, b.carol.ID}, incs[0].Assignees)
	require.Equal(t, []string{b.bob.ID, b.carol.ID}, incs[0].Notified, "level 1 on create, level 2 at once after")
	require.Equal(t, "triggered", incs[0].Status)
	require.ElementsMatch(t, []string{"Bob Primary", "Carol Backup"}, page.Assignees)
	manages := callsTo(b.fake, http.MethodPut, "/incidents")
	require.Len(t, manages, 1)
	require.Equal(t, b.alice.Email, manages[0].From)

	// A retried job finds everyone assigned and notifies nobody again.
	again, err := b.client.Page(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, page.ExternalID, again.ExternalID)
	require.Len(t, b.fake.Incidents(), 1)
	require.Equal(t, []string{b.bob.ID, b.carol.ID}, b.fake.Incidents()[0].Notified)
	require.Len(t, callsTo(b.fake, http.MethodPut, "/incidents"), 1)
}

func TestPageBackupWithoutLevelTwoPagesLevelOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddEscalationPolicy("PEPSOLO", "Solo")
	b.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEPSOLO", Level: 1, UserID: b.alice.ID})
	req := b.request(b.rest)
	req.Backup = true
	req.Service.PagerDuty.EscalationPolicy = "PEPSOLO"

	page, err := b.client.Page(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, []string{"Alice Declarer"}, page.Assignees)
	require.Equal(t, "PEPSOLO", b.fake.Incidents()[0].EscalationPolicyID, "the policy file's escalation policy is paged")
	require.Empty(t, callsTo(b.fake, http.MethodPut, "/incidents"))
}

func TestPageRetryNeverPagesTwice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		svc        func(*bundle) incident.ServicePolicy
		wantAlerts int
	}{
		{name: "REST", svc: func(b *bundle) incident.ServicePolicy { return b.rest }, wantAlerts: 0},
		{name: "Events v2", svc: func(b *bundle) incident.ServicePolicy { return b.events }, wantAlerts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			req := b.request(tt.svc(b))

			first, err := b.client.Page(t.Context(), req)
			require.NoError(t, err)
			second, err := b.client.Page(t.Context(), req)
			require.NoError(t, err)

			require.Equal(t, first.ExternalID, second.ExternalID)
			require.Equal(t, first.URL, second.URL)
			incs := b.fake.Incidents()
			require.Len(t, incs, 1, "one incident, one page")
			require.Equal(t, []string{b.bob.ID}, incs[0].Notified)
			require.Equal(t, tt.wantAlerts, incs[0].Alerts)
		})
	}
}

func TestPageRESTRetriesAfterServerError(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.FailNext(2, http.StatusBadGateway)

	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err, "the create carries an incident_key, so outbound may retry it")
	require.Len(t, b.fake.Incidents(), 1)
	require.Equal(t, b.fake.Incidents()[0].ID, page.ExternalID)
	require.Len(t, callsTo(b.fake, http.MethodPost, "/incidents"), 3)
}

func TestPageNotConfigured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		svc   incident.ServicePolicy
		want  string
	}{
		{name: "nothing linked", token: "tok", svc: incident.ServicePolicy{Key: "billing"},
			want: `Service "billing" is not linked to PagerDuty; add a pagerduty service_id (with a REST API token) or a routing_key to it in the policy file.`},
		{name: "service id without a token", svc: incident.ServicePolicy{Key: "billing", PagerDuty: incident.PagerDutyService{ServiceID: "PX"}},
			want: `Service "billing" has a PagerDuty service_id but the bot has no PagerDuty REST API token; set the token, or give the service a routing_key.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *pagerduty.Config) { c.Token = tt.token })
			require.False(t, b.client.Enabled(tt.svc))
			_, err := b.client.Page(t.Context(), incident.PageRequest{Service: tt.svc, DedupKey: "k"})
			require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
			require.Equal(t, tt.want, incident.ErrorMessage(err))
			require.Empty(t, b.fake.Calls())
		})
	}
}

func TestEnabled(t *testing.T) {
	t.Parallel()
	withToken := pagerduty.New(pagerduty.Config{Token: "tok"})
	withoutToken := pagerduty.New(pagerduty.Config{})
	rest := incident.ServicePolicy{PagerDuty: incident.PagerDutyService{ServiceID: "P1"}}
	events := incident.ServicePolicy{PagerDuty: incident.PagerDutyService{RoutingKey: pdfake.RoutingKey("x")}}
	require.True(t, withToken.Enabled(rest))
	require.False(t, withoutToken.Enabled(rest))
	require.True(t, withoutToken.Enabled(events))
	require.False(t, withToken.Enabled(incident.ServicePolicy{}))
}

func TestAcknowledgeREST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		email    string
		wantCode string
		wantMsg  string
		wantBy   string
	}{
		// bob@ also matches bobby@ in PagerDuty's substring query.
		{name: "as the user with the e-mail", email: "BOB@example.com", wantBy: "bob"},
		{name: "unknown e-mail", email: "dave@example.com", wantCode: incident.ENOTFOUND,
			wantMsg: "No PagerDuty user has the e-mail dave@example.com."},
		{name: "no e-mail", email: " ", wantCode: incident.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			page, err := b.client.Page(t.Context(), b.request(b.rest))
			require.NoError(t, err)
			require.NotNil(t, page.StatusAt, "PagerDuty's time of the page")
			require.Equal(t, t0, *page.StatusAt)

			b.clock.Advance(90 * time.Second)
			at, err := b.client.Acknowledge(t.Context(), *page, tt.email)
			inc, ok := b.fake.Incident(page.ExternalID)
			require.True(t, ok)
			if tt.wantCode != "" {
				require.Equal(t, tt.wantCode, incident.ErrorCode(err))
				if tt.wantMsg != "" {
					require.Equal(t, tt.wantMsg, incident.ErrorMessage(err))
				}
				require.Equal(t, "triggered", inc.Status)
				require.Empty(t, callsTo(b.fake, http.MethodPut, "/incidents"))
				return
			}
			require.NoError(t, err)
			require.Equal(t, t0.Add(90*time.Second), at, "PagerDuty's last_status_change_at of the acknowledgement")
			require.Equal(t, "acknowledged", inc.Status)
			require.Equal(t, b.bob.ID, inc.AcknowledgedBy)
			manages := callsTo(b.fake, http.MethodPut, "/incidents")
			require.Len(t, manages, 1)
			require.Equal(t, b.bob.Email, manages[0].From)
		})
	}
}

func TestAcknowledgeAndResolveEventsV2(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pagerduty.Config) { c.Token = "" })
	page, err := b.client.Page(t.Context(), b.request(b.events))
	require.NoError(t, err)

	// The Events API's answers carry no time.
	at, err := b.client.Acknowledge(t.Context(), *page, "bob@example.com")
	require.NoError(t, err)
	require.True(t, at.IsZero(), "%v", at)
	require.Equal(t, "acknowledged", b.fake.Incidents()[0].Status)
	at, err = b.client.Resolve(t.Context(), *page)
	require.NoError(t, err)
	require.True(t, at.IsZero(), "%v", at)
	require.Equal(t, "resolved", b.fake.Incidents()[0].Status)
	require.Nil(t, page.StatusAt)

	evs := b.fake.Events()
	require.Len(t, evs, 3)
	for i, action := range []string{"trigger", "acknowledge", "resolve"} {
		require.Equal(t, action, evs[i].Action)
		require.Equal(t, page.DedupKey, evs[i].DedupKey)
		require.Equal(t, b.events.PagerDuty.RoutingKey, evs[i].RoutingKey)
		require.Equal(t, http.StatusAccepted, evs[i].Status)
	}
}

func TestEventsV2FollowUpNeedsTheRoutingKey(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pagerduty.Config) { c.Services = nil })
	page, err := b.client.Page(t.Context(), b.request(b.events))
	require.NoError(t, err)

	_, err = b.client.Resolve(t.Context(), *page)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "routing_key")
	require.Len(t, b.fake.Events(), 1, "nothing sent")
}

func TestResolveREST(t *testing.T) {
	t.Parallel()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)

	b.clock.Advance(time.Minute)
	at, err := b.client.Resolve(t.Context(), *page)
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Minute), at, "PagerDuty's time of the resolution")
	inc, _ := b.fake.Incident(page.ExternalID)
	require.Equal(t, "resolved", inc.Status)
	manages := callsTo(b.fake, http.MethodPut, "/incidents")
	require.Len(t, manages, 1)
	require.Equal(t, "bot@example.com", manages[0].From)

	// A new page with the same key after resolution opens a new incident.
	again, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	require.NotEqual(t, page.ExternalID, again.ExternalID)
}

func TestResolveRESTNeedsFromEmail(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pagerduty.Config) { c.FromEmail = "" })
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	_, err = b.client.Resolve(t.Context(), *page)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "From e-mail")
}

func TestOnCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		policy       string
		wantServices int
	}{
		{name: "policy looked up from the service", policy: "", wantServices: 1},
		{name: "policy from the policy file", policy: "PEP0001", wantServices: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			// Someone on call for another policy must not show up.
			b.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEPOTHER", Level: 1, UserID: b.alice.ID})
			svc := b.rest
			svc.PagerDuty.EscalationPolicy = tt.policy

			got, err := b.client.OnCall(t.Context(), svc)
			require.NoError(t, err)
			require.Equal(t, []incident.OnCall{
				{Level: 1, Name: "Bob Primary", Email: "bob@example.com", Schedule: "Checkout primary", Until: t0.Add(8 * time.Hour)},
				{Level: 2, Name: "Carol Backup", Email: "carol@example.com", Schedule: "Checkout secondary", Until: t0.Add(48 * time.Hour)},
			}, got)
			require.Len(t, callsTo(b.fake, http.MethodGet, "/services/PSVC001"), tt.wantServices)
			oncalls := callsTo(b.fake, http.MethodGet, "/oncalls")
			require.Len(t, oncalls, 1)
			require.Contains(t, oncalls[0].RawQuery, "escalation_policy_ids%5B%5D=PEP0001")
		})
	}
}

func TestOnCallNeedsREST(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.client.OnCall(t.Context(), b.events)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	require.Empty(t, b.fake.Calls())
}

func TestPagerDutyFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     func(*pdfake.Server)
		config    option
		call      func(*bundle) error
		wantCode  string
		wantMsg   string
		wantCalls int
		check     func(t *testing.T, err error)
	}{
		{
			name:  "500 on create: retried by outbound, then unavailable",
			fault: func(f *pdfake.Server) { f.FailNext(10, 0) },
			call: func(b *bundle) error {
				_, err := b.client.Page(context.Background(), b.request(b.rest))
				return err
			},
			wantCode: incident.EUNAVAILABLE, wantMsg: "PagerDuty is not responding (HTTP 500)",
			wantCalls: outbound.DefaultMaxAttempts,
			check: func(t *testing.T, err error) {
				var ue *outbound.UnavailableError
				require.ErrorAs(t, err, &ue)
				require.Equal(t, http.StatusInternalServerError, ue.Status)
			},
		},
		{
			name:  "503 on a user look-up",
			fault: func(f *pdfake.Server) { f.FailNext(10, http.StatusServiceUnavailable) },
			call: func(b *bundle) error {
				_, err := b.client.Acknowledge(context.Background(), incident.Page{ExternalID: "Q1", DedupKey: "k"}, "bob@example.com")
				return err
			},
			wantCode: incident.EUNAVAILABLE, wantMsg: "PagerDuty is not responding (HTTP 503)",
			wantCalls: outbound.DefaultMaxAttempts,
		},
		{
			name:  "429 beyond the in-process cap: handed back with its wait",
			fault: func(f *pdfake.Server) { f.RateLimitNext(10, 2*time.Minute) },
			call: func(b *bundle) error {
				_, err := b.client.Page(context.Background(), b.request(b.rest))
				return err
			},
			wantCode: incident.EUNAVAILABLE, wantMsg: "PagerDuty is rate limiting us; trying again in 2 minutes.",
			wantCalls: 1,
			check: func(t *testing.T, err error) {
				wait, ok := outbound.AsRetryAfter(err)
				require.True(t, ok)
				require.Equal(t, 2*time.Minute, wait)
			},
		},
		{
			name:  "429 on Events v2",
			fault: func(f *pdfake.Server) { f.RateLimitNext(10, 90*time.Second) },
			call: func(b *bundle) error {
				_, err := b.client.Page(context.Background(), b.request(b.events))
				return err
			},
			wantCode: incident.EUNAVAILABLE, wantCalls: 1,
			check: func(t *testing.T, err error) {
				var ra interface{ RetryAfter() time.Duration }
				require.ErrorAs(t, err, &ra)
				require.Equal(t, 90*time.Second, ra.RetryAfter())
			},
		},
		{
			name:  "unreachable",
			fault: func(f *pdfake.Server) { f.SetDown(true) },
			call: func(b *bundle) error {
				_, err := b.client.OnCall(context.Background(), b.rest)
				return err
			},
			wantCode: incident.EUNAVAILABLE, wantMsg: "PagerDuty is not responding (connection failed after 4 attempts)",
			wantCalls: outbound.DefaultMaxAttempts,
		},
		{
			name:   "wrong token",
			config: func(c *pagerduty.Config) { c.Token = "not-the-token" },
			call: func(b *bundle) error {
				_, err := b.client.Page(context.Background(), b.request(b.rest))
				return err
			},
			wantCode: incident.EFORBIDDEN, wantMsg: "PagerDuty rejected the bot's REST API token (Authentication failed); check the token.",
			wantCalls: 1,
			check: func(t *testing.T, err error) {
				require.NotContains(t, err.Error(), "not-the-token")
			},
		},
		{
			name: "unknown service",
			call: func(b *bundle) error {
				req := b.request(b.rest)
				req.Service.PagerDuty.ServiceID = "PNOPE"
				_, err := b.client.Page(context.Background(), req)
				return err
			},
			wantCode: incident.EINVALID, wantMsg: "PagerDuty rejected the request: Invalid Input Provided: Service not found.",
			wantCalls: 1,
		},
		{
			name: "From user unknown to PagerDuty",
			call: func(b *bundle) error {
				req := b.request(b.rest)
				req.FromEmail = "stranger@example.com"
				_, err := b.client.Page(context.Background(), req)
				return err
			},
			wantCode: incident.EINVALID, wantMsg: "PagerDuty rejected the request: Requester User Not Found.",
			wantCalls: 1,
		},
		{
			name: "bad routing key on Events v2",
			call: func(b *bundle) error {
				req := b.request(b.events)
				req.Service.PagerDuty.RoutingKey = "short"
				_, err := b.client.Page(context.Background(), req)
				return err
			},
			wantCode:  incident.EINVALID,
			wantMsg:   "PagerDuty rejected the request: Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters).",
			wantCalls: 1,
			check: func(t *testing.T, err error) {
				require.NotContains(t, err.Error(), "short\"")
			},
		},
		{
			name: "manage an incident PagerDuty does not know",
			call: func(b *bundle) error {
				_, err := b.client.Resolve(context.Background(), incident.Page{ExternalID: "QGONE", DedupKey: "k"})
				return err
			},
			wantCode: incident.ENOTFOUND, wantMsg: "PagerDuty could not find it: Not Found: Incident Not Found.",
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []option
			if tt.config != nil {
				opts = append(opts, tt.config)
			}
			b := setup(t, opts...)
			if tt.fault != nil {
				tt.fault(b.fake)
			}
			err := tt.call(b)
			require.Error(t, err)
			require.Equal(t, tt.wantCode, incident.ErrorCode(err), "%v", err)
			if tt.wantMsg != "" {
				require.True(t, strings.HasPrefix(incident.ErrorMessage(err), tt.wantMsg), "message %q", incident.ErrorMessage(err))
			}
			require.NotContains(t, err.Error(), b.fake.Token())
			require.Len(t, b.fake.Calls(), tt.wantCalls)
			require.Empty(t, b.fake.Incidents())
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestCanceledContextIsNotUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := b.client.Page(ctx, b.request(b.rest))
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, errors.Is(err, context.DeadlineExceeded))
	require.NotEqual(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
}
