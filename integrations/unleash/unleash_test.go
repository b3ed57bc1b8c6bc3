package unleash_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
	"github.com/firebreakhq/firebreak/integrations/unleash"
	"github.com/firebreakhq/firebreak/integrations/unleash/unleashfake"
)

const (
	token  = "user:abc123"
	secret = "Bearer whsec-unleash"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type bundle struct {
	fake   *unleashfake.Server
	srv    *httptest.Server
	client *unleash.Client
}

func setup(t *testing.T) bundle {
	t.Helper()
	fake := unleashfake.New(token, unleashfake.WithNow(func() time.Time { return t0 }))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := unleash.New(unleash.Config{
		APIURL: srv.URL, Token: token, HTTPClient: srv.Client(),
		Clock: incident.ClockFunc(func() time.Time { return t0 }),
	})
	return bundle{fake: fake, srv: srv, client: client}
}

func payments() incident.ServicePolicy {
	return incident.ServicePolicy{
		Key: "payments",
		Flags: []incident.FlagRef{
			{Provider: "unleash", Project: "pay", Key: "fast_refunds", Environment: "production"},
			{Provider: "launchdarkly", Project: "pay", Key: "not-mine"},
		},
	}
}

func TestChangesWindowAndMapping(t *testing.T) {
	t.Parallel()
	b := setup(t)
	from, to := t0.Add(-time.Hour), t0
	ev := func(typ string, at time.Time, env string) unleashfake.Event {
		return b.fake.AddEvent(unleashfake.Event{
			Type: typ, CreatedBy: "bob@example.com", CreatedAt: at,
			Project: "pay", Environment: env, FeatureName: "fast_refunds",
		})
	}
	ev("feature-environment-enabled", from.Add(-time.Millisecond), "production") // before
	atFrom := ev("feature-environment-enabled", from, "production")
	strategy := ev("feature-strategy-update", from.Add(10*time.Minute), "production")
	ev("feature-environment-enabled", from.Add(11*time.Minute), "staging") // other env
	ev("feature-tagged", from.Add(12*time.Minute), "")                     // not a change
	updated := ev("feature-updated", from.Add(13*time.Minute), "")         // no env: kept
	atTo := ev("feature-environment-disabled", to, "production")
	ev("feature-environment-enabled", to.Add(time.Millisecond), "production") // after
	b.fake.AddEvent(unleashfake.Event{Type: "feature-environment-disabled", CreatedAt: from.Add(time.Minute),
		Project: "pay", Environment: "production", FeatureName: "other_flag"})

	got, err := b.client.Changes(context.Background(), payments(), from, to)
	require.NoError(t, err)
	ids := make([]string, len(got))
	for i, c := range got {
		ids[i] = c.ExternalID
	}
	id := func(e unleashfake.Event) string { return fmt.Sprint(e.ID) }
	require.Equal(t, []string{id(atTo), id(updated), id(strategy), id(atFrom)}, ids)

	require.Equal(t, incident.ChangeEvent{
		Source:      "unleash",
		ExternalID:  id(atTo),
		Kind:        incident.ChangeFlag,
		Service:     "payments",
		Summary:     "Disabled fast_refunds in production",
		Actor:       "bob@example.com",
		URL:         b.srv.URL + "/projects/pay/features/fast_refunds",
		Environment: "production",
		Ref:         "fast_refunds",
		OccurredAt:  to,
		Data:        map[string]string{"project": "pay", "flag": "fast_refunds", "type": "feature-environment-disabled", "on": "false"},
	}, got[0])
	require.Equal(t, "Updated a strategy of fast_refunds in production", got[2].Summary)

	calls := b.fake.Calls()
	require.Equal(t, unleash.EventsPath, calls[0].Path)
	require.Equal(t, "IS:fast_refunds", calls[0].Query.Get("feature"))
	require.Equal(t, "IS:pay", calls[0].Query.Get("project"))
	require.True(t, calls[0].Authorized)
}

func TestChangesPaginates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 250
	for i := range n {
		b.fake.AddEvent(unleashfake.Event{Type: "feature-strategy-update", CreatedBy: "bob", CreatedAt: t0.Add(-time.Duration(i) * time.Second),
			Project: "pay", Environment: "production", FeatureName: "fast_refunds"})
	}
	got, err := b.client.Changes(context.Background(), payments(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.Len(t, got, n)
	require.Len(t, b.fake.Calls(), 3, "100 + 100 + 50")
	require.Equal(t, t0, got[0].OccurredAt)
}

func TestChangesFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     unleashfake.Fault
		token     string
		wantRetry time.Duration
	}{
		{name: "server error", fault: unleashfake.Fault{Status: 502}},
		{name: "rate limited", fault: unleashfake.Fault{Status: 429, RetryAfter: "12"}, wantRetry: 12 * time.Second},
		{name: "bad token", token: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if tt.fault.Status != 0 {
				b.fake.InjectFault(tt.fault)
			}
			client := b.client
			if tt.token != "" {
				client = unleash.New(unleash.Config{APIURL: b.srv.URL, Token: tt.token, HTTPClient: b.srv.Client()})
			}
			_, err := client.Changes(context.Background(), payments(), t0.Add(-time.Hour), t0)
			require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
			require.Contains(t, incident.ErrorMessage(err), "Unleash")
			wait, ok := outbound.AsRetryAfter(err)
			require.Equal(t, tt.wantRetry != 0, ok)
			require.Equal(t, tt.wantRetry, wait)
		})
	}
}

func flagChange() incident.ChangeEvent {
	return incident.ChangeEvent{
		Source: "unleash", ExternalID: "42", Kind: incident.ChangeFlag, Environment: "production",
		Ref: "fast_refunds", Data: map[string]string{"project": "pay"},
	}
}

func TestRollbackTurnsFlagOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddFeature(unleashfake.Feature{Project: "pay", Name: "fast_refunds", Enabled: map[string]bool{"production": true, "staging": true}})
	ctx := context.Background()

	require.True(t, b.client.Handles(flagChange()))
	plan, err := b.client.Plan(ctx, flagChange(), payments())
	require.NoError(t, err)
	require.Equal(t, incident.RollbackPlan{
		Key:         "unleash:off:pay/production/fast_refunds:42",
		Kind:        incident.ChangeFlag,
		Source:      "unleash",
		Description: "Turn off flag fast_refunds in pay/production (Unleash).",
		Environment: "production",
		Method:      "off",
		Project:     "pay",
		Flag:        "fast_refunds",
		ChangeID:    "unleash:42",
	}, plan)

	run, err := b.client.Execute(ctx, plan, "U9")
	require.NoError(t, err)
	require.Equal(t, "succeeded", run.Status)
	on, ok := b.fake.Enabled("pay", "fast_refunds", "production")
	require.True(t, ok)
	require.False(t, on)
	on, _ = b.fake.Enabled("pay", "fast_refunds", "staging")
	require.True(t, on, "other environments untouched")

	calls := b.fake.Calls()
	last := calls[len(calls)-1]
	require.Equal(t, http.MethodPost, last.Method)
	require.Equal(t, "/api/admin/projects/pay/features/fast_refunds/environments/production/off", last.Path)
	require.True(t, last.Authorized)

	again, err := b.client.Execute(ctx, plan, "U9")
	require.NoError(t, err, "turning off an off flag is harmless")
	require.Equal(t, "succeeded", again.Status)

	pending := run
	pending.Status = "queued"
	settled, err := b.client.Progress(ctx, pending)
	require.NoError(t, err)
	require.Equal(t, "succeeded", settled.Status)
}

func TestRollbackErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	ld := flagChange()
	ld.Source = "launchdarkly"
	require.False(t, b.client.Handles(ld))
	_, err := b.client.Plan(ctx, ld, payments())
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))

	noEnv := flagChange()
	noEnv.Environment, noEnv.Data = "", nil
	_, err = b.client.Plan(ctx, noEnv, incident.ServicePolicy{})
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	plan, err := b.client.Plan(ctx, noEnv, payments())
	require.NoError(t, err)
	require.Equal(t, "pay", plan.Project)
	require.Equal(t, "production", plan.Environment)

	_, err = b.client.Execute(ctx, plan, "U9")
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))

	b.fake.AddFeature(unleashfake.Feature{Project: "pay", Name: "fast_refunds", Enabled: map[string]bool{"production": true}})
	b.fake.InjectFault(unleashfake.Fault{Method: http.MethodPost, Status: 500})
	_, err = b.client.Execute(ctx, plan, "U9")
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
	on, _ := b.fake.Enabled("pay", "fast_refunds", "production")
	require.True(t, on)
}

type recordingSink struct {
	mu  sync.Mutex
	got []incident.ChangeEvent
	err error
}

func (s *recordingSink) sink(_ context.Context, c incident.ChangeEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, c)
	return s.err
}

func (s *recordingSink) events() []incident.ChangeEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]incident.ChangeEvent(nil), s.got...)
}

func disabledEvent() unleashfake.Event {
	return unleashfake.Event{
		ID: 77, Type: "feature-environment-disabled", CreatedBy: "bob@example.com", CreatedAt: t0,
		Project: "pay", Environment: "production", FeatureName: "fast_refunds",
		Data: map[string]any{"name": "fast_refunds"},
	}
}

func TestWebhookDeliversFlagChange(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	srv := httptest.NewServer(unleash.NewWebhookHandler(secret, rec.sink, nil, unleash.WithUIURL("https://unleash.example.com")))
	t.Cleanup(srv.Close)

	status, err := unleashfake.SendWebhook(context.Background(), srv.Client(), srv.URL, secret, disabledEvent())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []incident.ChangeEvent{{
		Source:      "unleash",
		ExternalID:  "77",
		Kind:        incident.ChangeFlag,
		Summary:     "Disabled fast_refunds in production",
		Actor:       "bob@example.com",
		URL:         "https://unleash.example.com/projects/pay/features/fast_refunds",
		Environment: "production",
		Ref:         "fast_refunds",
		OccurredAt:  t0,
		Data:        map[string]string{"project": "pay", "flag": "fast_refunds", "type": "feature-environment-disabled", "on": "false"},
	}}, rec.events())
}

func TestWebhookRejectsAndIgnores(t *testing.T) {
	t.Parallel()
	tagged := disabledEvent()
	tagged.Type = "feature-tagged"
	tests := []struct {
		name       string
		secret     string
		auth       string
		event      *unleashfake.Event
		raw        []byte
		sinkErr    error
		wantStatus int
		wantSink   bool
	}{
		{name: "valid", secret: secret, auth: secret, wantStatus: 200, wantSink: true},
		{name: "missing authorization", secret: secret, wantStatus: 401},
		{name: "wrong authorization", secret: secret, auth: "Bearer guess", wantStatus: 401},
		{name: "prefix of the secret", secret: secret, auth: secret[:len(secret)-1], wantStatus: 401},
		{name: "empty secret rejects", secret: "", auth: "anything", wantStatus: 401},
		{name: "not a flag change", secret: secret, auth: secret, event: &tagged, wantStatus: 200},
		{name: "malformed", secret: secret, auth: secret, raw: []byte("not json"), wantStatus: 400},
		{name: "redelivery", secret: secret, auth: secret, sinkErr: incident.Errorf(incident.ECONFLICT, "seen"), wantStatus: 200, wantSink: true},
		{name: "sink failure", secret: secret, auth: secret, sinkErr: errors.New("db down"), wantStatus: 500, wantSink: true},
		{name: "too large", secret: secret, auth: secret, raw: bytes.Repeat([]byte(" "), unleash.MaxWebhookBytes+1), wantStatus: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := recordingSink{err: tt.sinkErr}
			h := unleash.NewWebhookHandler(tt.secret, rec.sink, nil)
			e := disabledEvent()
			if tt.event != nil {
				e = *tt.event
			}
			req, err := unleashfake.NewWebhookRequest(context.Background(), "/webhooks/unleash", tt.auth, e)
			require.NoError(t, err)
			if tt.raw != nil {
				req = httptest.NewRequest(http.MethodPost, "/webhooks/unleash", bytes.NewReader(tt.raw))
				req.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, tt.wantStatus, w.Code, w.Body.String())
			require.Equal(t, tt.wantSink, len(rec.events()) == 1)
		})
	}
}

// TestRollbackAnsweredWithAFailureAfterItTookEffect turns a flag off through
// an Unleash that applies the change and then answers 5xx: the bot reads the
// flag back instead of reporting a failure or sending the change again.
func TestRollbackAnsweredWithAFailureAfterItTookEffect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      unleashfake.Fault
		outbound   bool
		wantStatus string // empty: an EUNAVAILABLE error
		wantOn     bool
	}{
		{name: "took effect, then 500", fault: unleashfake.Fault{Method: http.MethodPost, Status: 500, AfterEffect: true}, wantStatus: "succeeded"},
		{name: "took effect, then 502, through the HTTP policy", fault: unleashfake.Fault{Method: http.MethodPost, Status: 502, AfterEffect: true},
			outbound: true, wantStatus: "succeeded"},
		{name: "failed before taking effect", fault: unleashfake.Fault{Method: http.MethodPost, Status: 503}, outbound: true, wantOn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.AddFeature(unleashfake.Feature{Project: "pay", Name: "fast_refunds", Enabled: map[string]bool{"production": true}})
			b.fake.InjectFault(tt.fault)
			client := b.client
			if tt.outbound {
				ob := outbound.New(outbound.Policy{Provider: "unleash"}, outbound.WithBaseTransport(b.srv.Client().Transport),
					outbound.WithSleep(func(context.Context, time.Duration) error { return nil }))
				client = unleash.New(unleash.Config{APIURL: b.srv.URL, Token: token, HTTPClient: ob.HTTPClient()})
			}
			plan, err := client.Plan(context.Background(), flagChange(), payments())
			require.NoError(t, err)

			run, err := client.Execute(context.Background(), plan, "U9")
			if tt.wantStatus == "" {
				require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.wantStatus, run.Status)
				require.Equal(t, "Flag fast_refunds is off in production.", run.Detail)
			}
			on, _ := b.fake.Enabled("pay", "fast_refunds", "production")
			require.Equal(t, tt.wantOn, on)
			offs := 0
			for _, c := range b.fake.Calls() {
				if c.Method == http.MethodPost {
					offs++
				}
			}
			require.Equal(t, 1, offs, "the change is sent once")
		})
	}
}

// TestRollbackRefusedByChangeRequests turns off a flag in an environment
// that takes changes only through change requests: Unleash answers 403,
// which ends the rollback at once and says why.
func TestRollbackRefusedByChangeRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddFeature(unleashfake.Feature{Project: "pay", Name: "fast_refunds", Enabled: map[string]bool{"production": true}})
	b.fake.RequireChangeRequests("pay", "production")
	plan, err := b.client.Plan(context.Background(), flagChange(), payments())
	require.NoError(t, err)

	_, err = b.client.Execute(context.Background(), plan, "U9")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "%v", err)
	require.Contains(t, incident.ErrorMessage(err), "change request")
	on, _ := b.fake.Enabled("pay", "fast_refunds", "production")
	require.True(t, on)
}

// TestChangesListsEveryChangeToEvaluation lists the Unleash events that
// change how a flag evaluates besides turning it on or off and editing its
// strategies: its dependencies on other flags and its strategies' order.
func TestChangesListsEveryChangeToEvaluation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	want := map[string]string{
		"feature-dependency-added":     "Added a dependency to fast_refunds",
		"feature-dependency-removed":   "Removed a dependency of fast_refunds",
		"feature-dependencies-removed": "Removed the dependencies of fast_refunds",
		"strategy-order-changed":       "Reordered the strategies of fast_refunds in production",
	}
	at := t0.Add(-time.Minute)
	for typ := range want {
		env := ""
		if typ == "strategy-order-changed" {
			env = "production"
		}
		b.fake.AddEvent(unleashfake.Event{Type: typ, CreatedBy: "bob", CreatedAt: at, Project: "pay", Environment: env, FeatureName: "fast_refunds"})
	}
	got, err := b.client.Changes(context.Background(), payments(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	summaries := map[string]string{}
	for _, c := range got {
		summaries[c.Data["type"]] = c.Summary
	}
	require.Equal(t, want, summaries)
}
