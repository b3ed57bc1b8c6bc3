package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/web"
)

const bigIncidentDraft = "# Postmortem\n\nThe pool was exhausted."

// draftAsTheStoreReads is a postmortem draft that, as the store's reads
// do, fails on a spent context.
func draftAsTheStoreReads(ctx context.Context, _ int64) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("load the timeline: %w", err)
	}
	return bigIncidentDraft, nil
}

// addPosters puts n people on the public incident's timeline, each in
// every fake given.
func addPosters(t *testing.T, f *fixture, n int, fakes ...*slackfake.Server) []string {
	t.Helper()
	var ids []string
	for i := range n {
		u := slackfake.User{ID: fmt.Sprintf("U0P%04d", i), Name: fmt.Sprintf("p%d", i), RealName: fmt.Sprintf("Poster Number%d", i)}
		for _, fake := range fakes {
			fake.AddUser(u)
		}
		require.NoError(t, f.store.AddTimelineEvent(context.Background(), &incident.TimelineEvent{IncidentID: f.public.ID, Kind: incident.EventMessage,
			Actor: u.ID, At: f.public.DeclaredAt.Add(time.Duration(i) * time.Second), Text: "seeing errors on my side too"}))
		ids = append(ids, u.ID)
	}
	return ids
}

// namesShown counts the posters the page names.
func namesShown(page string) int { return strings.Count(page, "Poster Number") }

// A big incident's page names its people a few users.info calls at a time,
// not one after the other: 120 people with Slack answering in 100 ms take
// about 1.5 s, not the request's whole 10 s, and the postmortem draft read
// alongside is shown.
func TestBigIncidentPageNamesItsPeopleAtOnce(t *testing.T) {
	f := setup(t, func(cfg *web.Config) { cfg.Postmortem = draftAsTheStoreReads })
	const posters = 120
	addPosters(t, f, posters, f.slack)
	b := f.browser()
	b.signIn(f.bob)

	f.slack.SetLatency("users.info", 100*time.Millisecond)
	start := time.Now()
	resp, page := b.get("/incidents/1")
	took := time.Since(start)
	t.Logf("first view at %d people, users.info in 100 ms: %d in %s, %d named, draft shown: %v",
		posters, resp.StatusCode, took.Round(time.Millisecond), namesShown(page), strings.Contains(page, "The pool was exhausted"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Less(t, took, 3*time.Second, "the names are asked several at a time")
	require.Equal(t, posters, namesShown(page))
	require.Contains(t, page, "The pool was exhausted")

	// Named once, the people are not asked about again.
	f.slack.Reset()
	start = time.Now()
	_, page = b.get("/incidents/1")
	t.Logf("second view: %s, %d users.info calls", time.Since(start).Round(time.Millisecond), len(f.slack.CallsTo("users.info")))
	require.Equal(t, posters, namesShown(page))
	require.Empty(t, f.slack.CallsTo("users.info"))
}

// When Slack stops answering users.info, the page is not held for the
// request's whole time: the session's check of its person waits 1 s, the
// names 2 s, and the page shows those not named by their ids; the draft,
// which has its own time, is shown.
func TestIncidentPageShowsIDsWhenSlackDoesNotName(t *testing.T) {
	f := setup(t, func(cfg *web.Config) { cfg.Postmortem = draftAsTheStoreReads })
	ids := addPosters(t, f, 20, f.slack)
	b := f.browser()
	// Alice is the incident's commander: she sees it even while Slack
	// cannot say whether she is a guest.
	b.signIn(f.alice)

	f.slack.SetLatency("users.info", time.Minute)
	start := time.Now()
	resp, page := b.get("/incidents/1")
	took := time.Since(start)
	t.Logf("Slack silent: %d in %s, %d named", resp.StatusCode, took.Round(time.Millisecond), namesShown(page))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Less(t, took, 5*time.Second, "well inside the request's 10 s")
	require.Zero(t, namesShown(page))
	require.Contains(t, page, ids[7], "a person not named is shown by id")
	require.Contains(t, page, "The pool was exhausted")
}

// A postmortem draft that does not come is given its own time, within the
// request's: the page answers without it, saying why, rather than failing.
func TestIncidentPageDraftHasItsOwnTime(t *testing.T) {
	f := setup(t, func(cfg *web.Config) {
		cfg.Postmortem = func(ctx context.Context, _ int64) (string, error) {
			<-ctx.Done()
			return "", fmt.Errorf("load the timeline: %w", ctx.Err())
		}
	})
	b := f.browser()
	b.signIn(f.bob)
	start := time.Now()
	resp, page := b.get("/incidents/1")
	took := time.Since(start)
	t.Logf("draft never comes: %d in %s", resp.StatusCode, took.Round(time.Millisecond))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Less(t, took, web.DefaultRequestTimeout-2*time.Second, "the draft's time ends well before the request's")
	require.Contains(t, page, `class="notice"`)
	require.Contains(t, page, "Alice Admin", "the rest of the page is shown")
}

// users.info is Tier 4 (about 100 calls a minute). A page past that is
// refused with 429 and Retry-After: it shows those Slack refused by id, and
// the refusal is kept, so the next views make no call until Slack's wait
// is over, then name the rest.
func TestIncidentPageKeepsSlackRefusalsOfNames(t *testing.T) {
	var limited *slackfake.Server
	f := setup(t, func(cfg *web.Config) {
		limited = slackfake.New(slackfake.WithRateLimits(), slackfake.WithClock(cfg.Clock.Now))
		cfg.Slack = slack.New(limited.BotToken(), slack.OptionAPIURL(limited.URL()))
	})
	t.Cleanup(limited.Close)
	for _, u := range []slackfake.User{f.alice, f.bob} {
		limited.AddUser(u)
	}
	const posters = 120
	addPosters(t, f, posters, f.slack, limited)
	b := f.browser()
	b.signIn(f.bob)

	start := time.Now()
	resp, page := b.get("/incidents/1")
	first := namesShown(page)
	calls := len(limited.CallsTo("users.info"))
	t.Logf("first view: %d in %s, %d of %d named, %d users.info calls", resp.StatusCode, time.Since(start).Round(time.Millisecond), first, posters, calls)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Less(t, first, posters, "Slack refuses past its Tier 4 limit")
	require.Greater(t, first, 80)
	require.LessOrEqual(t, calls, slackfake.Tier4+8, "once refused, the page stops asking (the calls in flight aside)")

	for range 3 {
		_, page = b.get("/incidents/1")
		require.Equal(t, first, namesShown(page))
	}
	require.Equal(t, calls, len(limited.CallsTo("users.info")), "the refusal is kept: the next views make no call")
	require.Empty(t, limited.PrematureCalls(), "no call before Slack's Retry-After is over")

	// Slack's minute over, the rest are named.
	f.clock.Advance(61 * time.Second)
	_, page = b.get("/incidents/1")
	t.Logf("a minute later: %d of %d named", namesShown(page), posters)
	require.Equal(t, posters, namesShown(page))
}

// A Slack that stops answering users.info costs one page its wait, not
// every page: once a call has run out of time unanswered, the next views
// and API calls do not wait for Slack. They show people by id and ask
// about them in the background, and once Slack answers again the people
// are named. (Whether someone is a guest is answered from the workspace's
// list, read before Slack stopped answering, as a running bot has it.)
func TestSlackThatHangsCostsOnlyOnePageItsWait(t *testing.T) {
	f := setup(t, func(cfg *web.Config) { cfg.Postmortem = draftAsTheStoreReads })
	addPosters(t, f, 20, f.slack)
	admin := f.browser()
	admin.signIn(f.alice)
	token := createToken(t, admin, "grafana", "read", "")
	b := f.browser()
	b.signIn(f.bob)

	f.slack.SetLatency("users.info", time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go f.chat.WatchGuests(ctx)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := f.chat.IsGuest(ctx, f.bob.ID)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "the workspace's people are read")

	start := time.Now()
	resp, page := b.get("/incidents/1")
	first := time.Since(start)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Zero(t, namesShown(page))

	var later []time.Duration
	for range 3 {
		start = time.Now()
		resp, page = b.get("/incidents/1")
		later = append(later, time.Since(start).Round(time.Millisecond))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, page, "The pool was exhausted")
		start = time.Now()
		status, _ := apiCall(t, f, token, http.MethodGet, "/api/v1/incidents", "")
		later = append(later, time.Since(start).Round(time.Millisecond))
		require.Equal(t, http.StatusOK, status)
	}
	t.Logf("Slack silent: first view %s, then views and API calls %v", first.Round(time.Millisecond), later)
	require.GreaterOrEqual(t, first, time.Second, "the first view gives Slack its time")
	for _, d := range later {
		require.Less(t, d, 500*time.Millisecond, "nobody waits again for a Slack that did not answer")
	}

	// Slack answers again: the people asked about in the background are
	// named, and then everyone.
	f.slack.SetLatency("users.info", 0)
	require.Eventually(t, func() bool {
		_, page := b.get("/incidents/1")
		return namesShown(page) == 20
	}, 10*time.Second, 50*time.Millisecond)
}
