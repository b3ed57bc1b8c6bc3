package comms_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/integrations/instatus"
	"github.com/firebreakhq/firebreak/integrations/instatus/instatusfake"
	"github.com/firebreakhq/firebreak/integrations/statuspage"
	"github.com/firebreakhq/firebreak/integrations/statuspage/statuspagefake"
)

// publicPage is a provider's client on its HTTP fake, and what a test does
// to the fake.
type publicPage struct {
	sp        comms.StatusPage
	hold      func(afterActing bool) (held <-chan struct{}, release func())
	failNext  func(statuses ...int)
	incidents func() int
	// onPage lists the public incidents, oldest first, each with the
	// bodies of its updates in the order they were posted.
	onPage func() []pageIncident
	// component is a component's state on the page, in firebreak's
	// spelling; empty when it was never set.
	component func(id string) incident.ComponentStatus
}

// pageIncident is a public incident as the fake holds it.
type pageIncident struct {
	ID     string
	Bodies []string
}

// publicPages opens each provider's fake, with the checkout service's
// components, telling the time with clock.
var publicPages = []struct {
	name string
	open func(t *testing.T, clock incident.Clock) publicPage
}{
	{"statuspage", func(t *testing.T, clock incident.Clock) publicPage {
		f := statuspagefake.New("sp-key", "pgrace", "cmp-api", "cmp-web")
		t.Cleanup(f.Close)
		f.SetClock(clock.Now)
		return publicPage{sp: statuspage.New(statuspage.Config{APIURL: f.URL, APIKey: f.APIKey, PageID: f.PageID, Clock: clock}),
			hold: f.HoldCreates, failNext: f.FailNext, incidents: func() int { return len(f.Incidents()) },
			onPage: func() (out []pageIncident) {
				for _, in := range f.Incidents() {
					p := pageIncident{ID: in.ID}
					for _, u := range slices.Backward(in.Updates) { // newest first, as Statuspage lists them
						p.Bodies = append(p.Bodies, u.Body)
					}
					out = append(out, p)
				}
				return out
			},
			component: func(id string) incident.ComponentStatus { return incident.ComponentStatus(f.Component(id)) }}
	}},
	{"instatus", func(t *testing.T, clock incident.Clock) publicPage {
		f := instatusfake.New("is-key", "pgrace", "cmp-api", "cmp-web")
		t.Cleanup(f.Close)
		f.SetClock(clock.Now)
		return publicPage{sp: instatus.New(instatus.Config{APIURL: f.URL, APIKey: f.APIKey, PageID: f.PageID, Clock: clock}),
			hold: f.HoldCreates, failNext: f.FailNext, incidents: func() int { return len(f.Incidents()) },
			onPage: func() (out []pageIncident) {
				for _, in := range f.Incidents() {
					p := pageIncident{ID: in.ID}
					for _, u := range in.Updates {
						p.Bodies = append(p.Bodies, u.Message)
					}
					out = append(out, p)
				}
				return out
			},
			component: func(id string) incident.ComponentStatus {
				got := f.Component(id)
				for _, cs := range []incident.ComponentStatus{incident.ComponentOperational, incident.ComponentDegraded,
					incident.ComponentPartialOutage, incident.ComponentMajorOutage} {
					if instatus.State(cs) == got {
						return cs
					}
				}
				return incident.ComponentStatus(got)
			}}
	}},
}

// raceBundle is a P1 of the checkout service whose first status page post
// failed once: its job waits for the background retry, and the channel
// shows the Retry button.
type raceBundle struct {
	commsBundle
	page  publicPage
	inc   *incident.Incident
	post  incident.Job // the post's job, run by hand as the engine's worker
	retry string       // the Retry button's value
}

func setupRace(t *testing.T, kind storetest.Kind, open func(*testing.T, incident.Clock) publicPage) raceBundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	q := incidenttest.NewQueue()
	store := storetest.Open[incident.Store](t, kind, clock, q)
	page := open(t, clock)
	b := raceBundle{commsBundle: setupCommsOn(t, store, q, clock, page.sp), page: page}
	b.inc = readyAt(t, b.commsBundle, incident.P1)

	page.failNext(http.StatusServiceUnavailable)
	_, err := b.pub.Publish(context.Background(), b.inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
	require.NoError(t, err)
	var ok bool
	b.post, ok = q.Take(comms.JobStatusPagePost)
	require.True(t, ok)
	require.Error(t, b.run(b.post, 1), "the status page is down")
	require.Empty(t, q.RunDue(t, clock.Now()))
	for _, p := range b.channel() {
		if v := between(p, "statuspage_retry=", "]"); v != "" {
			b.retry = v
		}
	}
	require.NotEmpty(t, b.retry, "the failure is said with a Retry button")
	return b
}

// run runs a status page post's job as the engine runs its attempt.
func (b raceBundle) run(job incident.Job, attempt int) error {
	h := b.queue.Handler(comms.JobStatusPagePost)
	return h(incident.WithJobAttempt(context.Background(), attempt, job.MaxAttempts), job.Payload)
}

// start runs the job's attempt in the background; the channel gives its
// result.
func (b raceBundle) start(job incident.Job, attempt int) <-chan error {
	done := make(chan error, 1)
	go func() { done <- b.run(job, attempt) }()
	return done
}

// click presses Retry and takes the post's job it schedules.
func (b raceBundle) click(t *testing.T) incident.Job {
	t.Helper()
	require.NoError(t, b.pub.RetryStatusPage(context.Background(), b.retry, "U0DECL"))
	job, ok := b.queue.Take(comms.JobStatusPagePost)
	require.True(t, ok, "the click schedules a post")
	return job
}

// requirePostedOnce checks that the status page holds one public incident,
// that the channel heard of it once, and that Retry now says it is there.
func (b raceBundle) requirePostedOnce(t *testing.T) {
	t.Helper()
	require.Equal(t, 1, b.page.incidents(), "one public incident on the status page")
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Equal(t, 1, b.count("Posted on the status page"), "the channel hears of the post once")
	n := 0
	for _, ev := range b.timeline(t, b.inc.ID) {
		if ev.SourceID == "statuspage:"+incident.PostAcknowledge+":" {
			n++
		}
	}
	require.Equal(t, 1, n, "the post is recorded once")
	inc, err := b.store.GetIncident(context.Background(), b.inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.PublicID)
	err = b.pub.RetryStatusPage(context.Background(), b.retry, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Equal(t, "That post is already on the status page.", incident.ErrorMessage(err))
}

// requireWaits checks that err asks the engine to run the post again later.
func requireWaits(t *testing.T, err error) {
	t.Helper()
	var later interface{ RetryAfter() time.Duration }
	require.ErrorAs(t, err, &later, "the post waits for the one under way")
}

// race is a failed first post whose background retry has its create held
// at the provider, on its way or made and not answered, when Retry is
// clicked.
type race struct {
	raceBundle
	release    func() // lets the held create go
	held       <-chan struct{}
	background <-chan error // the background retry's result
	clickPost  incident.Job // the post the click scheduled, not yet run
}

// forEachRace runs test on a race on every provider and every store.
func forEachRace(t *testing.T, afterActing bool, test func(t *testing.T, r race)) {
	t.Helper()
	for _, provider := range publicPages {
		t.Run(provider.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
				r := race{raceBundle: setupRace(t, kind, provider.open)}
				r.held, r.release = r.page.hold(afterActing)
				defer r.release()
				r.background = r.start(r.post, 2)
				select {
				case <-r.held:
				case <-time.After(10 * time.Second):
					t.Fatal("the background retry never reached the status page")
				}
				r.clickPost = r.click(t)
				test(t, r)
			})
		})
	}
}

// TestRetryClickRacingTheBackgroundRetryPostsOnce: the first post failed;
// the background retry's create is at the provider (on its way, or made
// and not yet answered, so not yet recorded) when someone clicks Retry.
// The status page gets one public incident, whichever finishes first.
func TestRetryClickRacingTheBackgroundRetryPostsOnce(t *testing.T) {
	t.Parallel()
	for _, moment := range []struct {
		name        string
		afterActing bool
	}{{"create on its way", false}, {"created, not yet recorded", true}} {
		t.Run(moment.name, func(t *testing.T) {
			t.Parallel()
			forEachRace(t, moment.afterActing, func(t *testing.T, r race) {
				clicked := r.start(r.clickPost, 1)
				var clickErr error
				select {
				case clickErr = <-clicked:
				case <-r.held:
					t.Error("the click's post reached the status page while the background retry's was under way")
					r.release()
					clickErr = <-clicked
				case <-time.After(10 * time.Second):
					t.Fatal("the click's post neither waited nor reached the status page")
				}
				r.release()
				require.NoError(t, <-r.background)
				if clickErr != nil {
					requireWaits(t, clickErr)
					require.NoError(t, r.run(r.clickPost, 2), "once the background retry is done, the click's post finds it recorded")
				}
				r.requirePostedOnce(t)
			})
		})
	}
}

// TestPostOfALostReplicaIsTakenOverOnce: the replica running the
// background retry stops answering after the provider made the incident
// (killed, or cut off from the database). Its lease ends by itself; the
// Retry click's post then adopts the incident instead of making another.
func TestPostOfALostReplicaIsTakenOverOnce(t *testing.T) {
	t.Parallel()
	forEachRace(t, true, func(t *testing.T, r race) {
		requireWaits(t, r.run(r.clickPost, 1))
		r.clock.Advance(2*time.Minute + time.Second)
		require.NoError(t, r.run(r.clickPost, 2), "the lease ended: the click's post adopts what the lost one made")
		require.Equal(t, 1, r.page.incidents())

		// The lost replica comes back and finds the post recorded.
		r.release()
		require.NoError(t, <-r.background)
		r.requirePostedOnce(t)
	})
}

// TestDifferentPostAfterALostReplicaAdoptsItsIncident: the replica running
// the first post stops answering after the provider made the public
// incident, before it recorded it. Once its lease ends, a different post of
// the incident (a quiet-spell update) finds no public id recorded; it
// adopts the incident the lost post made and posts onto it, instead of
// opening a second one. The lost post's own retry then posts nothing more.
func TestDifferentPostAfterALostReplicaAdoptsItsIncident(t *testing.T) {
	t.Parallel()
	const body = "We are still investigating errors at checkout."
	forEachRace(t, true, func(t *testing.T, r race) {
		ctx := context.Background()
		r.clock.Advance(2*time.Minute + time.Second)
		_, err := r.pub.Publish(ctx, r.inc.ID, comms.PublishInput{Kind: incident.PostStillInvestigating, Body: body, Actor: "U0DECL"})
		require.NoError(t, err)
		update, ok := r.queue.Take(comms.JobStatusPagePost)
		require.True(t, ok)
		require.NoError(t, r.run(update, 1), "the lease ended: the update takes it")

		page := r.page.onPage()
		require.Len(t, page, 1, "one public incident on the status page")
		require.Len(t, page[0].Bodies, 2, "the first post's, then the update's")
		require.Equal(t, body, page[0].Bodies[1], "the update is posted onto the adopted incident")
		inc, err := r.store.GetIncident(ctx, r.inc.ID)
		require.NoError(t, err)
		require.Equal(t, page[0].ID, inc.PublicID, "the adopted incident is recorded")
		require.Empty(t, r.queue.RunDue(t, r.clock.Now()))
		require.Equal(t, 1, r.count("Posted on the status page"), "the channel hears of the update")

		// The lost first post, run again by the engine or a Retry click,
		// finds the incident public and posts nothing.
		require.NoError(t, r.run(r.clickPost, 1))
		require.Len(t, r.page.onPage()[0].Bodies, 2, "nothing more is posted")

		// The lost replica comes back: still one public incident.
		r.release()
		require.NoError(t, <-r.background)
		page = r.page.onPage()
		require.Len(t, page, 1)
		require.Len(t, page[0].Bodies, 2)
		inc, err = r.store.GetIncident(ctx, r.inc.ID)
		require.NoError(t, err)
		require.Equal(t, page[0].ID, inc.PublicID)
	})
}

// TestRetryAfterTheBackgroundRetryPostedSaysItIsThere: the background retry
// posted; a later Retry click says so and posts nothing.
func TestRetryAfterTheBackgroundRetryPostedSaysItIsThere(t *testing.T) {
	t.Parallel()
	for _, provider := range publicPages {
		t.Run(provider.name, func(t *testing.T) {
			t.Parallel()
			b := setupRace(t, storetest.Memory, provider.open)
			require.NoError(t, b.run(b.post, 2))
			b.requirePostedOnce(t)
			require.Zero(t, b.queue.Pending(comms.JobStatusPagePost), "the click schedules nothing")
			require.Equal(t, 1, b.count("The status page post for INC-1 failed"), "the failure is said once")
		})
	}
}
