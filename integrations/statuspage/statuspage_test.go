package statuspage_test

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
	"github.com/firebreakhq/firebreak/integrations/outbound"
	"github.com/firebreakhq/firebreak/integrations/statuspage"
	"github.com/firebreakhq/firebreak/integrations/statuspage/statuspagefake"
)

const (
	key  = "sp-key"
	page = "pg1"
	api  = "cmpapi"
	web  = "cmpweb"
)

func setup(t *testing.T) (*statuspagefake.Fake, *statuspage.Client) {
	t.Helper()
	fake := statuspagefake.New(key, page, api, web)
	t.Cleanup(fake.Close)
	return fake, statuspage.New(statuspage.Config{APIURL: fake.URL + "/", APIKey: key, PageID: page})
}

func post(status incident.PublicStatus, body string, cs incident.ComponentStatus) comms.PublicPost {
	return comms.PublicPost{Key: "INC-7", Name: "Issue affecting Checkout", Status: status, Body: body, Impact: "critical", Notify: true,
		Components: map[string]incident.ComponentStatus{api: cs, web: cs}, StartedAt: time.Now().Add(-3 * time.Minute)}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	ctx := context.Background()
	require.Equal(t, "statuspage", c.Name())

	got, err := c.Create(ctx, post(incident.PublicInvestigating, "We are aware of an issue.", incident.ComponentMajorOutage), false)
	require.NoError(t, err)
	require.NotEmpty(t, got.ID)
	require.Equal(t, "https://stspg.io/"+got.ID, got.URL)
	require.Equal(t, incident.PublicInvestigating, got.Status)
	require.Equal(t, "major_outage", fake.Component(api))

	require.NoError(t, c.SetComponents(ctx, got, map[string]incident.ComponentStatus{api: incident.ComponentPartialOutage}))
	require.Equal(t, "partial_outage", fake.Component(api))
	require.Equal(t, "major_outage", fake.Component(web))

	_, err = c.Update(ctx, got, post(incident.PublicMonitoring, "A fix is out.", incident.ComponentDegraded), false)
	require.NoError(t, err)
	up, err := c.Update(ctx, got, post(incident.PublicResolved, "Resolved.", incident.ComponentOperational), false)
	require.NoError(t, err)
	require.Equal(t, incident.PublicResolved, up.Status)

	incs := fake.Incidents()
	require.Len(t, incs, 1)
	in := incs[0]
	require.Equal(t, "critical", in.Impact)
	require.Equal(t, "resolved", in.Status)
	require.NotNil(t, in.ResolvedAt)
	require.Len(t, in.Updates, 3, "components alone post no update")
	require.Equal(t, "Resolved.", in.Updates[0].Body)
	require.Equal(t, "operational", fake.Component(api))
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

	bad := statuspage.New(statuspage.Config{APIURL: fake.URL, APIKey: "wrong", PageID: page})
	_, err := bad.Create(ctx, p, false)
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))

	other := statuspage.New(statuspage.Config{APIURL: fake.URL, APIKey: key, PageID: "nope"})
	_, err = other.Create(ctx, p, false)
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))

	unknown := p
	unknown.Components = map[string]incident.ComponentStatus{"ghost": incident.ComponentMajorOutage}
	_, err = c.Create(ctx, unknown, false)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "ghost")

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

	unconfigured := statuspage.New(statuspage.Config{})
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

// TestDecodesTheDocumentedIncident reads an incident in the shape the API
// reference documents for POST /pages/{page_id}/incidents.
func TestDecodesTheDocumentedIncident(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/incident.json")
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/pages/pg1/incidents", r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c := statuspage.New(statuspage.Config{APIURL: srv.URL, APIKey: key, PageID: "pg1"})
	got, err := c.Create(context.Background(), post(incident.PublicInvestigating, "We are aware of an issue affecting Checkout.", incident.ComponentMajorOutage), false)
	require.NoError(t, err)
	require.Equal(t, comms.PublicIncident{Provider: "statuspage", ID: "x0ljvc9m1wxj", URL: "http://stspg.io/7a0d3a4d2", Status: incident.PublicInvestigating}, got)
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
				words = append(words, u.Body)
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

// TestRecoverAdoptsOnlyTheIncidentCarryingItsKey: a create whose answer was
// lost (Statuspage made the incident, then answered 500) is adopted by its
// retry, and nothing else is: not an incident of the same name someone
// opened by hand in the same minute, nor another firebreak incident's.
func TestRecoverAdoptsOnlyTheIncidentCarryingItsKey(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	fake.SetClock(func() time.Time { return now })
	ctx := context.Background()
	ours := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	ours.StartedAt, ours.RequestedAt = now.Add(-2*time.Minute), now

	// Someone opens one by hand, with the same name, half a minute before.
	now = now.Add(-30 * time.Second)
	byHand := ours
	byHand.Key, byHand.Body = "", "Checkout is slow for some of you."
	hand, err := c.Create(ctx, byHand, false)
	require.NoError(t, err)

	now = now.Add(30 * time.Second)
	fake.FailAfterActing(http.StatusInternalServerError)
	_, err = c.Create(ctx, ours, false)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err), "the answer is lost")
	require.Len(t, fake.Incidents(), 2, "the create took effect")
	made := fake.Incidents()[1]
	require.Equal(t, map[string]any{"firebreak": map[string]any{"incident": "INC-7"}}, made.Metadata, "the incident carries its key")

	// Another firebreak incident of the same service opens its own.
	now = now.Add(10 * time.Second)
	twin := ours
	twin.Key = "INC-8"
	other, err := c.Create(ctx, twin, false)
	require.NoError(t, err)

	now = now.Add(20 * time.Second)
	got, err := c.Create(ctx, ours, true)
	require.NoError(t, err)
	require.True(t, got.Adopted)
	require.Equal(t, made.ID, got.ID, "adopted its own, not %s (by hand) nor %s (INC-8)", hand.ID, other.ID)
	require.Len(t, fake.Incidents(), 3, "nothing more was opened")

	// A post without a key (none to recognise it by) adopts nothing.
	keyless := ours
	keyless.Key = ""
	fresh, err := c.Create(ctx, keyless, true)
	require.NoError(t, err)
	require.False(t, fresh.Adopted)
	require.Len(t, fake.Incidents(), 4)
}

// TestLostUpdateIsNotPostedAgain: an update Statuspage carried out before
// its answer was lost is found by its retry among the incident's updates,
// even when another post went out in between, and is not posted twice.
func TestLostUpdateIsNotPostedAgain(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	fake.SetClock(func() time.Time { return now })
	ctx := context.Background()
	first := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	first.StartedAt, first.RequestedAt = now.Add(-5*time.Minute), now
	ref, err := c.Create(ctx, first, false)
	require.NoError(t, err)

	now = now.Add(3 * time.Minute)
	lost := post(incident.PublicIdentified, "We found the cause.", incident.ComponentMajorOutage)
	lost.StartedAt, lost.RequestedAt = first.StartedAt, now
	fake.FailAfterActing(http.StatusInternalServerError)
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
	var bodies []string
	for _, u := range fake.Incidents()[0].Updates {
		bodies = append(bodies, u.Body)
	}
	require.Equal(t, []string{"A fix is out.", "We found the cause.", "We are aware."}, bodies, "newest first, each once")

	// The same words with another status are another post.
	again := lost
	again.Status = incident.PublicMonitoring
	_, err = c.Update(ctx, ref, again, true)
	require.NoError(t, err)
	require.Len(t, fake.Incidents()[0].Updates, 4)
}

// TestFakeRefusesMetadataThatIsNotAnObjectOfObjects: Statuspage wants every
// top-level value of an incident's metadata to be an object.
func TestFakeRefusesMetadataThatIsNotAnObjectOfObjects(t *testing.T) {
	t.Parallel()
	fake, _ := setup(t)
	for _, md := range []string{`"INC-7"`, `{"firebreak": "INC-7"}`, `[{"incident": "INC-7"}]`} {
		body := `{"incident": {"name": "Issue affecting Checkout", "status": "investigating", "metadata": ` + md + `}}`
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.URL+"/pages/"+page+"/incidents", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "OAuth "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := fake.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, md)
	}
	require.Empty(t, fake.Incidents())
}

// TestRecoverReadsEveryPageOfUnresolvedIncidents: Statuspage pages its
// unresolved incidents (100 at most a page, in an order it does not
// document). With 150 open, the incident an interrupted create made is on
// the second page of a listing oldest first; its retry still finds it
// rather than opening a second public incident.
func TestRecoverReadsEveryPageOfUnresolvedIncidents(t *testing.T) {
	t.Parallel()
	fake, c := setup(t)
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	fake.SetClock(func() time.Time { return now })
	ctx := context.Background()
	for i := range 150 {
		open := post(incident.PublicInvestigating, "Maintenance overrun.", incident.ComponentDegraded)
		open.Key, open.Name = fmt.Sprintf("INC-%d", 100+i), fmt.Sprintf("Issue affecting shard %d", i)
		_, err := c.Create(ctx, open, false)
		require.NoError(t, err)
	}
	ours := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	ours.StartedAt, ours.RequestedAt = now.Add(-2*time.Minute), now
	fake.FailAfterActing(http.StatusGatewayTimeout)
	_, err := c.Create(ctx, ours, false)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err), "the answer is lost")
	made := fake.Incidents()[150]

	got, err := c.Create(ctx, ours, true)
	require.NoError(t, err)
	require.True(t, got.Adopted)
	require.Equal(t, made.ID, got.ID)
	require.Len(t, fake.Incidents(), 151, "nothing more was opened")
	listings := 0
	for _, r := range fake.Requests() {
		if r == "GET /pages/"+page+"/incidents/unresolved" {
			listings++
		}
	}
	require.Equal(t, 2, listings, "two pages of 100 read, the second short")

	// A retry whose create never arrived reads to the last, short page,
	// finds nothing and opens the incident.
	lost := post(incident.PublicInvestigating, "We are aware.", incident.ComponentMajorOutage)
	lost.Key, lost.StartedAt, lost.RequestedAt = "INC-9", now.Add(-time.Minute), now
	fresh, err := c.Create(ctx, lost, true)
	require.NoError(t, err)
	require.False(t, fresh.Adopted)
	require.Len(t, fake.Incidents(), 152)
}
