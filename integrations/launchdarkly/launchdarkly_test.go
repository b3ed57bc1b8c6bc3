package launchdarkly_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly/ldfake"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

const token = "api-test-token"

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type bundle struct {
	fake   *ldfake.Server
	srv    *httptest.Server
	client *launchdarkly.Client
}

func setup(t *testing.T) bundle {
	t.Helper()
	fake := ldfake.New(token, ldfake.WithNow(func() time.Time { return t0 }))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := launchdarkly.New(launchdarkly.Config{
		APIURL:     srv.URL,
		Token:      token,
		HTTPClient: srv.Client(),
		Clock:      incident.ClockFunc(func() time.Time { return t0 }),
	})
	return bundle{fake: fake, srv: srv, client: client}
}

// throughPolicy returns a client of the fake whose requests go through
// package outbound's transport under p, which retries without waiting.
func (b bundle) throughPolicy(p outbound.Policy) *launchdarkly.Client {
	ob := outbound.New(p, outbound.WithBaseTransport(b.srv.Client().Transport),
		outbound.WithSleep(func(context.Context, time.Duration) error { return nil }))
	return launchdarkly.New(launchdarkly.Config{APIURL: b.srv.URL, Token: token, HTTPClient: ob.HTTPClient(),
		Clock: incident.ClockFunc(func() time.Time { return t0 })})
}

func checkout() incident.ServicePolicy {
	return incident.ServicePolicy{
		Key: "checkout",
		Flags: []incident.FlagRef{
			{Provider: "launchdarkly", Project: "shop", Key: "new-cart", Environment: "production"},
			{Provider: "unleash", Project: "default", Key: "ignored-here", Environment: "production"},
		},
	}
}

func boolp(b bool) *bool { return &b }

func TestChangesWindowAndMapping(t *testing.T) {
	t.Parallel()
	b := setup(t)
	from, to := t0.Add(-time.Hour), t0
	entry := func(id string, at time.Time) ldfake.AuditEntry {
		return ldfake.AuditEntry{
			ID: id, Date: at, Name: "New cart", TitleVerb: "turned on the flag",
			MemberEmail: "ann@example.com", MemberName: "Ann Lee",
			Project: "shop", Environment: "production", FlagKey: "new-cart",
		}
	}
	b.fake.AddAuditEntry(entry("before-window", from.Add(-time.Millisecond)))
	b.fake.AddAuditEntry(entry("at-from", from))
	b.fake.AddAuditEntry(entry("at-to", to))
	b.fake.AddAuditEntry(entry("after-window", to.Add(time.Millisecond)))
	other := entry("other-env", from.Add(time.Minute))
	other.Environment = "staging"
	b.fake.AddAuditEntry(other)
	otherFlag := entry("other-flag", from.Add(time.Minute))
	otherFlag.FlagKey = "dark-mode"
	b.fake.AddAuditEntry(otherFlag)
	full := entry("full", from.Add(30*time.Minute))
	full.TitleVerb, full.PreviousVersion, full.CurrentVersion, full.On = "turned off the flag", 6, 7, boolp(false)
	full.Comment = "too slow"
	b.fake.AddAuditEntry(full)

	got, err := b.client.Changes(context.Background(), checkout(), from, to)
	require.NoError(t, err)

	ids := make([]string, len(got))
	for i, c := range got {
		ids[i] = c.ExternalID
	}
	require.Equal(t, []string{"at-to", "full", "at-from"}, ids, "newest first, bounds included")

	require.Equal(t, incident.ChangeEvent{
		Source:      "launchdarkly",
		ExternalID:  "full",
		Kind:        incident.ChangeFlag,
		Service:     "checkout",
		Summary:     "Turned off the flag New cart in production",
		Actor:       "ann@example.com",
		URL:         b.srv.URL + "/shop/production/features/new-cart",
		Environment: "production",
		Ref:         "new-cart",
		OccurredAt:  from.Add(30 * time.Minute),
		// The audit log lists entries without the flag's versions; the
		// state comes from the title verb.
		Data: map[string]string{"project": "shop", "flag": "new-cart", "on": "false", "comment": "too slow"},
	}, got[1])
	require.Equal(t, "true", got[0].Data["on"], "derived from the title verb when no version is listed")

	calls := b.fake.Calls()
	require.NotEmpty(t, calls)
	q := calls[0].Query
	require.Equal(t, "proj/shop:env/production:flag/new-cart", q.Get("spec"))
	require.Equal(t, fmt.Sprint(from.UnixMilli()-1), q.Get("after"))
	require.Equal(t, fmt.Sprint(to.UnixMilli()+1), q.Get("before"))
	require.Equal(t, "20", q.Get("limit"))
	require.True(t, calls[0].Authorized, "raw API key in Authorization")
	require.Equal(t, "20220603", calls[0].APIVersion, "the API version the client is written for, not the token's")
}

func TestChangesFollowsPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 45
	for i := range n {
		b.fake.AddAuditEntry(ldfake.AuditEntry{
			ID: fmt.Sprintf("e%02d", i), Date: t0.Add(-time.Duration(i) * time.Minute), Name: "New cart",
			TitleVerb: "updated the flag", Project: "shop", Environment: "production", FlagKey: "new-cart",
		})
	}
	got, err := b.client.Changes(context.Background(), checkout(), t0.Add(-2*time.Hour), t0)
	require.NoError(t, err)
	require.Len(t, got, n)
	require.Equal(t, "e00", got[0].ExternalID)
	require.Equal(t, "e44", got[n-1].ExternalID)
	require.Len(t, b.fake.Calls(), 3, "20 + 20 + 5")
}

func TestChangesWithoutLaunchDarklyFlags(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got, err := b.client.Changes(context.Background(), incident.ServicePolicy{Key: "api"}, t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Empty(t, b.fake.Calls())
}

func TestChangesFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     ldfake.Fault
		token     string
		clock     time.Time // the bot's clock; zero means the fake's
		wantCode  string
		wantRetry time.Duration
	}{
		{name: "server error", fault: ldfake.Fault{Status: 503}, wantCode: incident.EUNAVAILABLE},
		{name: "IP limit: Retry-After beyond the window", fault: ldfake.Fault{Status: 429, RetryAfter: "30"}, wantCode: incident.EUNAVAILABLE, wantRetry: 30 * time.Second},
		{name: "global limit: until the window resets", fault: ldfake.Fault{Status: 429, ResetAt: t0.Add(7*time.Second + 250*time.Millisecond)},
			wantCode: incident.EUNAVAILABLE, wantRetry: 7*time.Second + 250*time.Millisecond},
		{name: "global limit: the end of the ten-second window", fault: ldfake.Fault{Status: 429}, wantCode: incident.EUNAVAILABLE, wantRetry: 10 * time.Second},
		{name: "global limit: the bot's clock is ahead", fault: ldfake.Fault{Status: 429}, clock: t0.Add(15 * time.Second),
			wantCode: incident.EUNAVAILABLE, wantRetry: 0},
		{name: "global limit: a reset far off is bounded", fault: ldfake.Fault{Status: 429, ResetAt: t0.Add(3 * time.Hour)},
			wantCode: incident.EUNAVAILABLE, wantRetry: outbound.DefaultMaxRetryAfter},
		{name: "bad token", token: "wrong", wantCode: incident.EUNAVAILABLE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if tt.fault.Status != 0 {
				b.fake.InjectFault(tt.fault)
			}
			now := t0
			if !tt.clock.IsZero() {
				now = tt.clock
			}
			client := launchdarkly.New(launchdarkly.Config{APIURL: b.srv.URL, Token: cmp.Or(tt.token, token), HTTPClient: b.srv.Client(),
				Clock: incident.ClockFunc(func() time.Time { return now })})
			_, err := client.Changes(context.Background(), checkout(), t0.Add(-time.Hour), t0)
			require.Error(t, err)
			require.Equal(t, tt.wantCode, incident.ErrorCode(err))
			require.Contains(t, incident.ErrorMessage(err), "LaunchDarkly")
			wait, ok := outbound.AsRetryAfter(err)
			require.Equal(t, tt.fault.Status == http.StatusTooManyRequests, ok)
			require.Equal(t, tt.wantRetry, wait)
		})
	}
}

func TestChangesConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	client := launchdarkly.New(launchdarkly.Config{APIURL: url, Token: token})
	_, err := client.Changes(context.Background(), checkout(), t0.Add(-time.Hour), t0)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
}

func flagChange() incident.ChangeEvent {
	return incident.ChangeEvent{
		Source: "launchdarkly", ExternalID: "entry-1", Kind: incident.ChangeFlag, Service: "checkout",
		Environment: "production", Ref: "new-cart", Data: map[string]string{"project": "shop"},
	}
}

func TestRollbackTurnsFlagOff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddFlag(ldfake.Flag{Project: "shop", Key: "new-cart", Name: "New cart", On: map[string]bool{"production": true, "staging": true}, Version: 4})
	ctx := context.Background()

	require.True(t, b.client.Handles(flagChange()))
	plan, err := b.client.Plan(ctx, flagChange(), checkout())
	require.NoError(t, err)
	require.Equal(t, incident.RollbackPlan{
		Key:         "launchdarkly:off:shop/production/new-cart:entry-1",
		Kind:        incident.ChangeFlag,
		Source:      "launchdarkly",
		Description: "Turn off flag new-cart in shop/production (LaunchDarkly).",
		Environment: "production",
		Method:      "off",
		Project:     "shop",
		Flag:        "new-cart",
		ChangeID:    "launchdarkly:entry-1",
	}, plan)

	run, err := b.client.Execute(ctx, plan, "U123")
	require.NoError(t, err)
	require.Equal(t, "succeeded", run.Status)
	require.Equal(t, "5", run.ExternalID)
	require.Equal(t, b.srv.URL+"/shop/production/features/new-cart", run.URL)

	on, ok := b.fake.FlagOn("shop", "new-cart", "production")
	require.True(t, ok)
	require.False(t, on, "flag is off in production")
	on, _ = b.fake.FlagOn("shop", "new-cart", "staging")
	require.True(t, on, "other environments untouched")

	calls := b.fake.Calls()
	last := calls[len(calls)-1]
	require.Equal(t, http.MethodPatch, last.Method)
	require.Equal(t, "/api/v2/flags/shop/new-cart", last.Path)
	require.Equal(t, "application/json; domain-model=launchdarkly.semanticpatch", last.ContentType)
	require.Equal(t, "20220603", last.APIVersion)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(last.Body), &body))
	require.Equal(t, map[string]any{
		"environmentKey": "production",
		"comment":        "incident rollback by U123",
		"instructions":   []any{map[string]any{"kind": "turnFlagOff"}},
	}, body)

	// Executing again is harmless: the flag stays off, the run succeeds.
	again, err := b.client.Execute(ctx, plan, "U123")
	require.NoError(t, err)
	require.Equal(t, "succeeded", again.Status)
	progressed, err := b.client.Progress(ctx, again)
	require.NoError(t, err)
	require.Equal(t, "succeeded", progressed.Status)

	// Progress on a run that has not settled reads the flag.
	pending := run
	pending.Status = "in_progress"
	settled, err := b.client.Progress(ctx, pending)
	require.NoError(t, err)
	require.Equal(t, "succeeded", settled.Status)
}

func TestRollbackPlanAndExecuteErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	deploy := flagChange()
	deploy.Source, deploy.Kind = "github", incident.ChangeDeploy
	require.False(t, b.client.Handles(deploy))
	_, err := b.client.Plan(ctx, deploy, checkout())
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))

	noEnv := flagChange()
	noEnv.Environment = ""
	_, err = b.client.Plan(ctx, noEnv, incident.ServicePolicy{Key: "checkout"})
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))

	// The service's flag fills in what the change leaves out.
	noEnv.Data = nil
	plan, err := b.client.Plan(ctx, noEnv, checkout())
	require.NoError(t, err)
	require.Equal(t, "production", plan.Environment)
	require.Equal(t, "shop", plan.Project)

	_, err = b.client.Execute(ctx, plan, "U1")
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err), "flag not in LaunchDarkly")

	b.fake.AddFlag(ldfake.Flag{Project: "shop", Key: "new-cart", On: map[string]bool{"production": true}})
	b.fake.InjectFault(ldfake.Fault{Method: http.MethodPatch, Status: 503})
	_, err = b.client.Execute(ctx, plan, "U1")
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
	on, _ := b.fake.FlagOn("shop", "new-cart", "production")
	require.True(t, on)

	_, err = b.client.Execute(ctx, incident.RollbackPlan{Source: "launchdarkly", Method: "revert"}, "U1")
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
}

func TestFakeRequiresSemanticPatchContentType(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddFlag(ldfake.Flag{Project: "shop", Key: "new-cart", On: map[string]bool{"production": true}})
	body := `{"environmentKey":"production","instructions":[{"kind":"turnFlagOff"}]}`
	for ct, want := range map[string]int{
		"text/plain":                          http.StatusUnsupportedMediaType,
		"application/json":                    http.StatusBadRequest,
		launchdarkly.SemanticPatchContentType: http.StatusOK,
	} {
		req, err := http.NewRequest(http.MethodPatch, b.srv.URL+"/api/v2/flags/shop/new-cart", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", token)
		req.Header.Set("Content-Type", ct)
		resp, err := b.srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, ct)
	}
}

func TestThroughOutboundClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		fault         ldfake.Fault
		maxRetryAfter time.Duration
		wantRetry     time.Duration
	}{
		{name: "5xx after every retry", fault: ldfake.Fault{Status: 503, Times: 10}},
		{name: "429 beyond the in-process cap", fault: ldfake.Fault{Status: 429, RetryAfter: "120"}, wantRetry: 2 * time.Minute},
		{name: "global limit after every retry", fault: ldfake.Fault{Status: 429, Times: 10}, wantRetry: 10 * time.Second},
		{name: "a reset far off is bounded by the policy", fault: ldfake.Fault{Status: 429, Times: 10, ResetAt: t0.Add(time.Hour)},
			maxRetryAfter: 30 * time.Second, wantRetry: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.InjectFault(tt.fault)
			client := b.throughPolicy(outbound.Policy{Provider: "launchdarkly", MaxRetryAfter: tt.maxRetryAfter})
			_, err := client.Changes(context.Background(), checkout(), t0.Add(-time.Hour), t0)
			require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
			wait, ok := outbound.AsRetryAfter(err)
			require.Equal(t, tt.wantRetry != 0, ok)
			require.Equal(t, tt.wantRetry, wait)
		})
	}
}

func TestWebhookAndAuditLogAgreeOnIdentity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.fake.AddAuditEntry(ldfake.AuditEntry{
		Date: t0, Name: "New cart", TitleVerb: "turned off the flag", MemberEmail: "ann@example.com",
		Project: "shop", Environment: "production", FlagKey: "new-cart",
	})
	listed, err := b.client.Changes(context.Background(), checkout(), t0.Add(-time.Minute), t0)
	require.NoError(t, err)
	require.Len(t, listed, 1)

	var got incident.ChangeEvent
	h := launchdarkly.NewWebhookHandler("s", func(_ context.Context, c incident.ChangeEvent) error { got = c; return nil }, nil)
	req, err := ldfake.NewWebhookRequest(context.Background(), "/webhooks/launchdarkly", "s", e)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code)

	// Same Source+ExternalID, so the store deduplicates the two paths.
	require.Equal(t, listed[0].Source, got.Source)
	require.Equal(t, listed[0].ExternalID, got.ExternalID)
	require.Equal(t, listed[0].Ref, got.Ref)
	require.Equal(t, listed[0].Environment, got.Environment)
	require.Equal(t, listed[0].Data["project"], got.Data["project"])
}

// TestRollbackAnsweredWithAFailureAfterItTookEffect turns a flag off through
// a LaunchDarkly that applies the change and then answers 5xx: the bot reads
// the flag back instead of reporting a failure or sending the change again.
func TestRollbackAnsweredWithAFailureAfterItTookEffect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      ldfake.Fault
		outbound   bool
		wantStatus string // empty: an EUNAVAILABLE error
		wantOn     bool
	}{
		{name: "took effect, then 500", fault: ldfake.Fault{Method: http.MethodPatch, Status: 500, AfterEffect: true}, wantStatus: "succeeded"},
		{name: "took effect, then 502, through the HTTP policy", fault: ldfake.Fault{Method: http.MethodPatch, Status: 502, AfterEffect: true},
			outbound: true, wantStatus: "succeeded"},
		{name: "failed before taking effect", fault: ldfake.Fault{Method: http.MethodPatch, Status: 503}, outbound: true, wantOn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.AddFlag(ldfake.Flag{Project: "shop", Key: "new-cart", On: map[string]bool{"production": true}, Version: 4})
			b.fake.InjectFault(tt.fault)
			client := b.client
			if tt.outbound {
				client = b.throughPolicy(outbound.Policy{Provider: "launchdarkly"})
			}
			plan, err := client.Plan(context.Background(), flagChange(), checkout())
			require.NoError(t, err)

			run, err := client.Execute(context.Background(), plan, "U123")
			if tt.wantStatus == "" {
				require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.wantStatus, run.Status)
				require.Equal(t, "Flag new-cart is off in production.", run.Detail)
			}
			on, _ := b.fake.FlagOn("shop", "new-cart", "production")
			require.Equal(t, tt.wantOn, on)
			patches := 0
			for _, c := range b.fake.Calls() {
				if c.Method == http.MethodPatch {
					patches++
				}
			}
			require.Equal(t, 1, patches, "the change is sent once")
		})
	}
}

// TestRollbackRefusedOrInConflict checks which failures of a turn-off end
// the rollback at once and which are worth another try: LaunchDarkly asks a
// client to retry a 409 (a concurrent change), while a token whose role
// may not change flags will not be let in by trying again.
func TestRollbackRefusedOrInConflict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fault    ldfake.Fault
		token    string
		wantCode string
		wantMsg  string
	}{
		{name: "a concurrent change", fault: ldfake.Fault{Method: http.MethodPatch, Status: 409}, wantCode: incident.EUNAVAILABLE, wantMsg: "concurrent"},
		{name: "a reader's token", token: "reader-token", wantCode: incident.EFORBIDDEN, wantMsg: "HTTP 403"},
		{name: "a refused patch", fault: ldfake.Fault{Method: http.MethodPatch, Status: 400}, wantCode: incident.EINVALID, wantMsg: "HTTP 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := ldfake.New(token, ldfake.WithReaderToken("reader-token"))
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			fake.AddFlag(ldfake.Flag{Project: "shop", Key: "new-cart", On: map[string]bool{"production": true}})
			if tt.fault.Status != 0 {
				fake.InjectFault(tt.fault)
			}
			client := launchdarkly.New(launchdarkly.Config{APIURL: srv.URL, Token: cmp.Or(tt.token, token), HTTPClient: srv.Client()})
			plan, err := client.Plan(context.Background(), flagChange(), checkout())
			require.NoError(t, err)
			_, err = client.Execute(context.Background(), plan, "U1")
			require.Equal(t, tt.wantCode, incident.ErrorCode(err), "%v", err)
			require.Contains(t, incident.ErrorMessage(err), tt.wantMsg)
			on, _ := fake.FlagOn("shop", "new-cart", "production")
			require.True(t, on)
		})
	}
}

// TestHTTPPolicyWaitsForTheReset sends a read through package outbound's
// transport with LaunchDarkly's RetryAfter: a 429 of the global limit is
// retried once its X-Ratelimit-Reset has passed, not on the policy's short
// backoff, and a 429 of the IP limit waits for the later of its two headers.
func TestHTTPPolicyWaitsForTheReset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault ldfake.Fault
		want  time.Duration
	}{
		{name: "global limit", fault: ldfake.Fault{Status: 429, Times: 1, ResetAt: t0.Add(7 * time.Second)}, want: 7 * time.Second},
		{name: "reset already passed", fault: ldfake.Fault{Status: 429, Times: 1, ResetAt: t0.Add(-time.Second)}, want: 0},
		{name: "retry-after later than the reset", fault: ldfake.Fault{Status: 429, Times: 1, ResetAt: t0.Add(2 * time.Second), RetryAfter: "9"},
			want: 9 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.fake.InjectFault(tt.fault)
			// The policy's clock moves with its sleeps, so the wait it
			// shares with other callers ends.
			var slept []time.Duration
			now := t0
			ob := outbound.New(outbound.Policy{Provider: "launchdarkly", RetryAfter: launchdarkly.RetryAfter},
				outbound.WithBaseTransport(b.srv.Client().Transport), outbound.WithClock(func() time.Time { return now }),
				outbound.WithSleep(func(_ context.Context, d time.Duration) error { slept, now = append(slept, d), now.Add(d); return nil }))
			client := launchdarkly.New(launchdarkly.Config{APIURL: b.srv.URL, Token: token, HTTPClient: ob.HTTPClient(),
				Clock: incident.ClockFunc(func() time.Time { return t0 })})
			_, err := client.Changes(context.Background(), checkout(), t0.Add(-time.Hour), t0)
			require.NoError(t, err)
			require.Equal(t, []time.Duration{tt.want}, slept, "one wait, until LaunchDarkly's limit resets")
		})
	}
}
