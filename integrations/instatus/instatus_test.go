package instatus_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/integrations/instatus"
	"github.com/firebreakhq/firebreak/integrations/instatus/instatusfake"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

const (
	key  = "in-key"
	page = "pg1"
	api  = "cmpapi"
	web  = "cmpweb"
)

func setup(t *testing.T) (*instatusfake.Fake, *instatus.Client) {
	t.Helper()
	fake := instatusfake.New(key, page, api, web)
	t.Cleanup(fake.Close)
	return fake, instatus.New(instatus.Config{APIURL: fake.URL + "/", APIKey: key, PageID: page, PageURL: "https://status.example.com"})
}

func post(status incident.PublicStatus, body string, cs incident.ComponentStatus) comms.PublicPost {
	return comms.PublicPost{Key: "INC-7", Name: "Issue affecting Checkout", Status: status, Body: body, Impact: "critical", Notify: true,
		Components: map[string]incident.ComponentStatus{api: cs, web: cs}, StartedAt: time.Now().Add(-3 * time.Minute)}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	ctx := context.Background()
	require.Equal(t, "instatus", c.Name())

	got, err := c.Create(ctx, post(incident.PublicInvestigating, "We are aware of an issue.", incident.ComponentMajorOutage), false)
	require.NoError(t, err)
	require.NotEmpty(t, got.ID)
	require.Equal(t, "https://status.example.com/incident/"+got.ID, got.URL)
	require.Equal(t, incident.PublicInvestigating, got.Status)
	require.Equal(t, "MAJOROUTAGE", fake.Component(api))

	require.NoError(t, c.SetComponents(ctx, got, map[string]incident.ComponentStatus{api: incident.ComponentPartialOutage}))
	require.Equal(t, "PARTIALOUTAGE", fake.Component(api))
	require.Equal(t, "MAJOROUTAGE", fake.Component(web))

	_, err = c.Update(ctx, got, post(incident.PublicMonitoring, "A fix is out.", incident.ComponentDegraded), false)
	require.NoError(t, err)
	up, err := c.Update(ctx, got, post(incident.PublicResolved, "Resolved.", incident.ComponentOperational), false)
	require.NoError(t, err)
	require.Equal(t, incident.PublicResolved, up.Status)

	incs := fake.Incidents()
	require.Len(t, incs, 1)
	in := incs[0]
	require.Equal(t, "RESOLVED", in.Status)
	require.NotNil(t, in.Resolved)
	require.Len(t, in.Updates, 3, "components alone post no update")
	require.Equal(t, "Resolved.", in.Updates[2].Message)
	require.Equal(t, "OPERATIONAL", fake.Component(api))
	require.Equal(t, 3, in.Notified)
}

func TestRecoverFindsWhatAnInterruptedAttemptPosted(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	ctx := context.Background()
	p := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	first, err := c.Create(ctx, p, false)
	require.NoError(t, err)
	again, err := c.Create(ctx, p, true)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "the retry adopts the incident")
	require.Len(t, fake.Incidents(), 1)

	u := post(incident.PublicIdentified, "Found it.", incident.ComponentMajorOutage)
	_, err = c.Update(ctx, first, u, false)
	require.NoError(t, err)
	_, err = c.Update(ctx, first, u, true)
	require.NoError(t, err)
	require.Len(t, fake.Incidents()[0].Updates, 2, "the retried update is not posted twice")

	_, err = c.Update(ctx, first, post(incident.PublicIdentified, "Another.", incident.ComponentMajorOutage), true)
	require.NoError(t, err)
	require.Len(t, fake.Incidents()[0].Updates, 3, "a different message is posted")
}

func TestErrors(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	ctx := context.Background()
	p := post(incident.PublicInvestigating, "x", incident.ComponentMajorOutage)

	bad := instatus.New(instatus.Config{APIURL: fake.URL, APIKey: "wrong", PageID: page})
	_, err := bad.Create(ctx, p, false)
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))

	other := instatus.New(instatus.Config{APIURL: fake.URL, APIKey: key, PageID: "nope"})
	_, err = other.Create(ctx, p, false)
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))

	unknown := p
	unknown.Components = map[string]incident.ComponentStatus{"ghost": incident.ComponentMajorOutage}
	_, err = c.Create(ctx, unknown, false)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "ghost")
	require.Equal(t, "MAJOROUTAGE", instatus.State(incident.ComponentMajorOutage))

	fake.FailNext(http.StatusTooManyRequests)
	_, err = c.Create(ctx, p, false)
	wait, ok := outbound.AsRetryAfter(err)
	require.True(t, ok, "429 carries its Retry-After")
	require.Equal(t, 2*time.Second, wait)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))

	fake.FailNext(http.StatusServiceUnavailable)
	_, err = c.Create(ctx, p, false)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
	require.Empty(t, fake.Incidents(), "nothing was created by the failed calls")

	unconfigured := instatus.New(instatus.Config{})
	_, err = unconfigured.Create(ctx, p, false)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
}

func TestRateLimitPerMinute(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	fake.SetClock(func() time.Time { return now })
	fake.LimitPerMinute(2)
	ctx := context.Background()
	got, err := c.Create(ctx, post(incident.PublicInvestigating, "a", incident.ComponentMajorOutage), false)
	require.NoError(t, err)
	_, err = c.Update(ctx, got, post(incident.PublicInvestigating, "b", incident.ComponentMajorOutage), false)
	require.NoError(t, err)
	_, err = c.Update(ctx, got, post(incident.PublicInvestigating, "c", incident.ComponentMajorOutage), false)
	wait, ok := outbound.AsRetryAfter(err)
	require.True(t, ok)
	require.Equal(t, 61*time.Second, wait)
	now = now.Add(61 * time.Second)
	_, err = c.Update(ctx, got, post(incident.PublicInvestigating, "c", incident.ComponentMajorOutage), false)
	require.NoError(t, err)
}

// TestDecodesTheDocumentedIncident reads an incident in the shape of the
// OpenAPI specification's Incident schema.
func TestDecodesTheDocumentedIncident(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/incident.json")
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/ckpage/incidents", r.URL.Path)
		require.Equal(t, "Bearer "+key, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c := instatus.New(instatus.Config{APIURL: srv.URL, APIKey: key, PageID: "ckpage", PageURL: "https://status.example.com/"})
	got, err := c.Create(context.Background(), post(incident.PublicInvestigating, "We are aware of an issue affecting Checkout.", incident.ComponentMajorOutage), false)
	require.NoError(t, err)
	require.Equal(t, comms.PublicIncident{Provider: "instatus", ID: "cl0nbq8s70001ab2x3y4z5w6v",
		URL: "https://status.example.com/incident/cl0nbq8s70001ab2x3y4z5w6v", Status: incident.PublicInvestigating}, got)
}

// TestRecoverAdoptsOnlyWhatWasPostedSinceTheRequest: a retried post adopts
// what its own interrupted attempt made, never an older incident of the
// same name (another incident of the same service) nor an older update
// with the same words (the previous "still investigating" round).
func TestRecoverAdoptsOnlyWhatWasPostedSinceTheRequest(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	fake.SetClock(func() time.Time { return now })
	ctx := context.Background()

	first := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	first.Key, first.StartedAt, first.RequestedAt = "INC-6", now.Add(-10*time.Minute), now
	other, err := c.Create(ctx, first, false)
	require.NoError(t, err)

	// Another incident of the same service, declared before the first was
	// posted, asks for its first post later; its first attempt failed
	// before Statuspage acted.
	now = now.Add(5 * time.Minute)
	second := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	second.StartedAt, second.RequestedAt = now.Add(-7*time.Minute), now
	got, err := c.Create(ctx, second, true)
	require.NoError(t, err)
	require.NotEqual(t, other.ID, got.ID, "the other incident's public incident is not adopted")
	require.False(t, got.Adopted, "made, not adopted")
	require.Len(t, fake.Incidents(), 2)

	// A quiet spell: the same words again half an hour later, whose first
	// attempt failed before Statuspage acted.
	now = now.Add(2 * time.Minute)
	still := post(incident.PublicInvestigating, "We are still investigating.", incident.ComponentMajorOutage)
	still.RequestedAt = now
	_, err = c.Update(ctx, got, still, false)
	require.NoError(t, err)
	now = now.Add(30 * time.Minute)
	still.RequestedAt = now
	_, err = c.Update(ctx, got, still, true)
	require.NoError(t, err)
	var words []string
	for _, in := range fake.Incidents() {
		if in.ID == got.ID {
			for _, u := range in.Updates {
				words = append(words, u.Message)
			}
		}
	}
	require.Equal(t, 2, strings.Count(strings.Join(words, "\n"), "We are still investigating."), "the second round is posted: %q", words)

	// Its own interrupted attempt is still adopted.
	now = now.Add(time.Minute)
	_, err = c.Update(ctx, got, still, true)
	require.NoError(t, err)
	again, err := c.Create(ctx, second, true)
	require.NoError(t, err)
	require.Equal(t, got.ID, again.ID)
	require.True(t, again.Adopted, "adopted, not made")
	require.Len(t, fake.Incidents(), 2)
}

// TestRecoverAdoptsOnlyTheIncidentItStarted: a create whose answer was lost
// (Instatus made the incident, then answered 500) is adopted by its retry,
// not the incident of the same name another firebreak incident, declared
// in the same second, opened just before it. Each starts at the
// millisecond its number names.
func TestRecoverAdoptsOnlyTheIncidentItStarted(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	fake.SetClock(func() time.Time { return now })
	ctx := context.Background()
	declared := now.Add(-2*time.Minute + 300*time.Millisecond)

	twin := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	twin.Key, twin.StartedAt, twin.RequestedAt = "INC-8", declared.Add(400*time.Millisecond), now
	other, err := c.Create(ctx, twin, false)
	require.NoError(t, err)

	ours := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	ours.StartedAt, ours.RequestedAt = declared, now
	fake.FailAfterActing(http.StatusInternalServerError)
	_, err = c.Create(ctx, ours, false)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err), "the answer is lost")
	require.Len(t, fake.Incidents(), 2, "the create took effect")
	made := fake.Incidents()[1]
	require.Equal(t, declared.Truncate(time.Second).Add(7*time.Millisecond), made.Started, "INC-7 starts at millisecond 7 of its second")
	require.Equal(t, declared.Truncate(time.Second).Add(8*time.Millisecond), fake.Incidents()[0].Started)

	now = now.Add(30 * time.Second)
	got, err := c.Create(ctx, ours, true)
	require.NoError(t, err)
	require.True(t, got.Adopted)
	require.Equal(t, made.ID, got.ID, "adopted its own, not %s (INC-8)", other.ID)
	require.Len(t, fake.Incidents(), 2, "nothing more was opened")
}

// TestLostUpdateIsNotPostedAgain: an update Instatus carried out before its
// answer was lost is found by its retry among the incident's updates, even
// when another post went out in between, and is not posted twice.
func TestLostUpdateIsNotPostedAgain(t *testing.T) {
	t.Parallel()
	fake, _ := setup(t)
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	fake.SetClock(func() time.Time { return now })
	c := instatus.New(instatus.Config{APIURL: fake.URL, APIKey: key, PageID: page, Clock: incident.ClockFunc(func() time.Time { return now })})
	ctx := context.Background()
	first := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	first.StartedAt, first.RequestedAt = now.Add(-5*time.Minute), now
	ref, err := c.Create(ctx, first, false)
	require.NoError(t, err)

	now = now.Add(3 * time.Minute)
	lost := post(incident.PublicIdentified, "We found the cause.", incident.ComponentMajorOutage)
	lost.StartedAt, lost.RequestedAt = first.StartedAt, now
	fake.FailAfterActing(http.StatusGatewayTimeout)
	_, err = c.Update(ctx, ref, lost, false)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err), "the answer is lost")

	// The next update goes out while the lost one waits for its retry.
	now = now.Add(time.Minute)
	next := post(incident.PublicMonitoring, "A fix is out.", incident.ComponentDegraded)
	next.StartedAt, next.RequestedAt = first.StartedAt, now
	_, err = c.Update(ctx, ref, next, false)
	require.NoError(t, err)

	now = now.Add(2 * time.Minute)
	_, err = c.Update(ctx, ref, lost, true)
	require.NoError(t, err)
	var messages []string
	for _, u := range fake.Incidents()[0].Updates {
		messages = append(messages, u.Message)
	}
	require.Equal(t, []string{"We are aware.", "We found the cause.", "A fix is out."}, messages, "each once")

	// The same words with another status are another post.
	again := lost
	again.Status = incident.PublicMonitoring
	_, err = c.Update(ctx, ref, again, true)
	require.NoError(t, err)
	require.Len(t, fake.Incidents()[0].Updates, 4)
}

// TestRecoverReadsPastTheFirstPage: Instatus lists open incidents newest
// first, 50 a page unless asked for more. When many incidents opened after
// an interrupted create (a wide outage, an alert storm), the one it made is
// past the first 50; its retry still finds it rather than opening a
// second public incident.
func TestRecoverReadsPastTheFirstPage(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	fake.SetClock(func() time.Time { return now })
	ctx := context.Background()
	ours := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	ours.StartedAt, ours.RequestedAt = now.Add(-2*time.Minute), now
	fake.FailAfterActing(http.StatusGatewayTimeout)
	_, err := c.Create(ctx, ours, false)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err), "the answer is lost")
	made := fake.Incidents()[0]
	for i := range 120 {
		now = now.Add(time.Second)
		open := post(incident.PublicInvestigating, "Degraded.", incident.ComponentDegraded)
		open.Key, open.Name, open.StartedAt = fmt.Sprintf("INC-%d", 100+i), fmt.Sprintf("Issue affecting shard %d", i), now
		_, err := c.Create(ctx, open, false)
		require.NoError(t, err)
	}

	got, err := c.Create(ctx, ours, true)
	require.NoError(t, err)
	require.True(t, got.Adopted)
	require.Equal(t, made.ID, got.ID)
	require.Len(t, fake.Incidents(), 121, "nothing more was opened")
}
