package comms_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/integrations/statuspage"
	"github.com/firebreakhq/firebreak/integrations/statuspage/statuspagefake"
)

// reviewSetup runs the HTTP bundle on the Statuspage fake and hands the fake back.
func reviewSetup(t *testing.T) (httpBundle, *statuspagefake.Fake) {
	t.Helper()
	var fake *statuspagefake.Fake
	b := setupHTTP(t, storetest.Memory, func(t *testing.T, clock incident.Clock) publicPage {
		fake = statuspagefake.New("sp-key", "pgrev", "cmp-api", "cmp-web")
		t.Cleanup(fake.Close)
		fake.SetClock(clock.Now)
		return publicPage{sp: statuspage.New(statuspage.Config{APIURL: fake.URL, APIKey: fake.APIKey, PageID: fake.PageID, Clock: clock}),
			component: func(id string) incident.ComponentStatus { return incident.ComponentStatus(fake.Component(id)) }}
	})
	return b, fake
}

// publicBodies lists the words of the public incident's updates, oldest
// first.
func publicBodies(fake *statuspagefake.Fake) []string {
	var out []string
	for _, in := range fake.Incidents() {
		for i := len(in.Updates) - 1; i >= 0; i-- { // Statuspage lists them newest first
			out = append(out, in.Updates[i].Body)
		}
	}
	return out
}

// TestStillInvestigatingQuotesTheUpdateAsASentence: the "still
// investigating" post quotes the latest status update; an update written
// without a closing full stop gets one, so the next sentence does not run
// on from it on the public page.
func TestStillInvestigatingQuotesTheUpdateAsASentence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ update, want string }{
		{"db-3 primary lost its disk; customer card tokens table being restored", "being restored. The issue began at 14:23 UTC"},
		{"Restoring the table now;", "Restoring the table now. The issue began"},
		{"Is the fix out? Not yet", "Not yet. The issue began"},
		{"Rolled back.", "Rolled back. The issue began"},
		{"It works again!", "It works again! The issue began"},
		{`The vendor says "fixed."`, `The vendor says "fixed." The issue began`},
		{"Restoring (about an hour)", "Restoring (about an hour). The issue began"},
	} {
		t.Run(tc.update, func(t *testing.T) {
			t.Parallel()
			b, fake := reviewSetup(t)
			ctx := context.Background()
			inc := b.declare(t, incident.P1)
			_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: b.ic.ID})
			require.NoError(t, err)
			b.run(t)
			_, err = b.core.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: b.ic.ID, Known: tc.update})
			require.NoError(t, err)
			b.run(t)
			_, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostStillInvestigating, Ref: "1786114380", Actor: b.ic.ID})
			require.NoError(t, err)
			b.run(t)
			bodies := publicBodies(fake)
			require.Len(t, bodies, 2)
			require.Contains(t, bodies[1], tc.want)
		})
	}
}

// runTaken runs a status page post job taken out of the queue, as the
// engine runs the given attempt of it.
func runTaken(b httpBundle, job incident.Job, attempt int) error {
	h := b.q.Handler(comms.JobStatusPagePost)
	return h(incident.WithJobRun(context.Background(), 4242, attempt, 12), job.Payload)
}

// failFirstPost asks for the first post while Statuspage is down: its
// first attempt fails, and the job waits for the engine's retry.
func failFirstPost(t *testing.T, b httpBundle, fake *statuspagefake.Fake, inc *incident.Incident, status int, afterActing bool) incident.Job {
	t.Helper()
	ok, err := b.pub.Publish(context.Background(), inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: b.ic.ID})
	require.NoError(t, err)
	require.True(t, ok)
	job, ok := b.q.Take(comms.JobStatusPagePost)
	require.True(t, ok)
	if afterActing {
		fake.FailAfterActing(status)
	} else {
		fake.FailNext(status)
	}
	require.Error(t, runTaken(b, job, 1), "Statuspage is down: the engine will retry")
	b.run(t)
	return job
}

// TestQueuedFirstPostOutlivesDeclineAndClose: a first post whose first
// attempt met a Statuspage outage is retried by the engine after the team
// declared the incident not customer-facing, resolved it and closed it.
// The retry opens nothing on the public page: the job ends there, and the
// channel hears why nothing was posted.
func TestQueuedFirstPostOutlivesDeclineAndClose(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	job := failFirstPost(t, b, fake, inc, http.StatusServiceUnavailable, false)

	_, err := b.svc.Decline(ctx, inc.ID, b.ic.ID)
	require.NoError(t, err, "declined: not customer-facing")
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "fixed")
	require.NoError(t, err)
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusClosed, b.ic.ID, "")
	require.NoError(t, err)
	b.run(t)

	err = runTaken(b, job, 2)
	require.ErrorIs(t, err, incident.ErrJobCancel, "the engine's retry ends the job")
	b.run(t)
	require.Empty(t, fake.Incidents(), "a declined, closed incident is not opened on the public page")
	require.Equal(t, 1, b.said(inc, "Nothing was posted on the status page for INC-1"), "%q", b.srv.Messages(inc.ChannelID))
	require.Contains(t, b.message(t, inc, "Nothing was posted"), "marked not customer-facing after it was asked for")

	require.ErrorIs(t, runTaken(b, job, 3), incident.ErrJobCancel)
	b.run(t)
	require.Equal(t, 1, b.said(inc, "Nothing was posted on the status page for INC-1"), "said once")
}

// TestQueuedFirstPostIsDroppedOnceDeclined: declining an incident while its
// first post waits for Statuspage to come back stops the post, although
// the incident is still open.
func TestQueuedFirstPostIsDroppedOnceDeclined(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	job := failFirstPost(t, b, fake, inc, http.StatusServiceUnavailable, false)
	_, err := b.svc.Decline(ctx, inc.ID, b.ic.ID)
	require.NoError(t, err)
	b.run(t)

	require.ErrorIs(t, runTaken(b, job, 2), incident.ErrJobCancel)
	b.run(t)
	require.Empty(t, fake.Incidents())
	require.Contains(t, b.message(t, inc, "Nothing was posted"), "marked not customer-facing after it was asked for")

	// The Retry button of the failure says the same and posts nothing.
	retry := retryValue(t, b, inc)
	err = b.pub.RetryStatusPage(ctx, retry, b.ic.ID)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "not customer-facing")
	b.run(t)
	require.Empty(t, fake.Incidents())
}

// TestQueuedFirstPostIsDroppedOnceResolved: a first post still waiting for
// Statuspage when the incident is resolved does not open a public incident
// in "investigating" for an incident that is over.
func TestQueuedFirstPostIsDroppedOnceResolved(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	job := failFirstPost(t, b, fake, inc, http.StatusServiceUnavailable, false)
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "fixed")
	require.NoError(t, err)
	b.run(t)

	// A Retry click is refused as well.
	err = b.pub.RetryStatusPage(ctx, retryValue(t, b, inc), b.ic.ID)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "resolved")
	b.run(t)
	require.Empty(t, fake.Incidents())

	require.ErrorIs(t, runTaken(b, job, 2), incident.ErrJobCancel)
	b.run(t)
	require.Empty(t, fake.Incidents(), "nothing opened for a resolved incident")
	msg := b.message(t, inc, "Nothing was posted")
	require.Contains(t, msg, "the first post was dropped because INC-1 is resolved")
}

// TestFirstPostLostAfterActingThenResolvedSaysWhereToLook: the first
// attempt of the first post opened the public incident but its answer was
// lost; the incident is resolved before the retry. The retry posts nothing
// more, and the channel is told that the public page may hold an incident
// to resolve by hand.
func TestFirstPostLostAfterActingThenResolvedSaysWhereToLook(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	job := failFirstPost(t, b, fake, inc, http.StatusInternalServerError, true)
	require.Len(t, fake.Incidents(), 1, "Statuspage acted")
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "fixed")
	require.NoError(t, err)
	b.run(t)

	require.ErrorIs(t, runTaken(b, job, 2), incident.ErrJobCancel)
	b.run(t)
	require.Len(t, fake.Incidents(), 1)
	require.Len(t, fake.Incidents()[0].Updates, 1, "nothing more posted")
	require.Contains(t, b.message(t, inc, "Nothing was posted"), "An earlier attempt may have reached Statuspage before it failed: if INC-1 is open there, resolve it there.")
}

// TestPublishAfterDeclineStillPosts: "not customer-facing" stops the
// posts asked for before it; someone who publishes afterwards changed
// their mind, and the post goes out.
func TestPublishAfterDeclineStillPosts(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	_, err := b.svc.Decline(ctx, inc.ID, b.ic.ID)
	require.NoError(t, err)
	b.run(t)
	b.clock.Advance(time.Minute)
	_, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: b.ic.ID})
	require.NoError(t, err)
	b.run(t)
	require.Len(t, fake.Incidents(), 1)
	require.Equal(t, "investigating", fake.Incidents()[0].Status)
}

// retryValue is the value of the Retry button of the incident's last
// failed status page post.
func retryValue(t *testing.T, b httpBundle, inc *incident.Incident) string {
	t.Helper()
	var value string
	for _, m := range b.srv.Messages(inc.ChannelID) {
		var blocks []struct {
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		}
		_ = json.Unmarshal(m.Blocks, &blocks)
		for _, bl := range blocks {
			for _, el := range bl.Elements {
				if el.ActionID == incident.ActionStatusPageRetry {
					value = el.Value
				}
			}
		}
	}
	require.NotEmpty(t, value, "a failure was said with a Retry button")
	return value
}

// publishFirst puts the incident on the public page.
func publishFirst(t *testing.T, b httpBundle, fake *statuspagefake.Fake, inc *incident.Incident) {
	t.Helper()
	_, err := b.pub.Publish(context.Background(), inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: b.ic.ID})
	require.NoError(t, err)
	b.run(t)
	require.Len(t, fake.Incidents(), 1)
}

// failPost asks for a post while Statuspage is down: its first attempt
// fails, and the job waits for the engine's retry.
func failPost(t *testing.T, b httpBundle, fake *statuspagefake.Fake, inc *incident.Incident, in comms.PublishInput) incident.Job {
	t.Helper()
	in.Actor = b.ic.ID
	ok, err := b.pub.Publish(context.Background(), inc.ID, in)
	require.NoError(t, err)
	require.True(t, ok)
	job, ok := b.q.Take(comms.JobStatusPagePost)
	require.True(t, ok)
	fake.FailNext(http.StatusServiceUnavailable)
	require.Error(t, runTaken(b, job, 1))
	b.run(t)
	return job
}

// resolveAndNotify resolves the incident and posts its resolution notice
// from the offer the resolve makes.
func resolveAndNotify(t *testing.T, b httpBundle, fake *statuspagefake.Fake, inc *incident.Incident) {
	t.Helper()
	ctx := context.Background()
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "fixed")
	require.NoError(t, err)
	b.run(t)
	_, kind, ref, err := comms.ParsePublishValue(buttonValue(t, b, inc, "post the resolution notice on the status page?", incident.ActionStatusPagePublish))
	require.NoError(t, err)
	require.Equal(t, incident.PostResolution, kind)
	ok, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: kind, Ref: ref, Body: "Resolved.", Actor: b.ic.ID})
	require.NoError(t, err)
	require.True(t, ok)
	b.run(t)
	require.Equal(t, "resolved", fake.Incidents()[0].Status)
}

// TestQueuedUpdateDoesNotReopenAResolvedPublicIncident: an update whose
// first attempt met an outage is retried after the resolution notice went
// out. The retry posts nothing: the public incident stays resolved, and
// the channel hears why the update was dropped.
func TestQueuedUpdateDoesNotReopenAResolvedPublicIncident(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	job := failPost(t, b, fake, inc, comms.PublishInput{Kind: incident.PostUpdate, Ref: "u1", Body: "We rolled back."})
	resolveAndNotify(t, b, fake, inc)

	require.ErrorIs(t, runTaken(b, job, 2), incident.ErrJobCancel, "the engine's retry of the update ends the job")
	b.run(t)
	in := fake.Incidents()[0]
	require.Equal(t, "resolved", in.Status, "the public incident stays resolved")
	require.Equal(t, "Resolved.", in.Updates[0].Body, "the resolution notice is the last word")
	require.Contains(t, b.message(t, inc, "Nothing was posted"), "the update was dropped because INC-1 is resolved; only the resolution notice can still be posted")
}

// TestUpdateAskedBeforeTheResolutionNoticeStaysDroppedAfterAReopen: the
// incident is reopened after the resolution notice, and an update asked
// for before the notice is retried only then. It is not posted: it speaks
// of the incident before its resolution. An update asked for after the
// reopen goes out, and opens the public incident again.
func TestUpdateAskedBeforeTheResolutionNoticeStaysDroppedAfterAReopen(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	job := failPost(t, b, fake, inc, comms.PublishInput{Kind: incident.PostUpdate, Ref: "u1", Body: "We rolled back."})
	b.clock.Advance(time.Minute)
	resolveAndNotify(t, b, fake, inc)
	b.advance(t, 2*time.Minute, 30*time.Second, 0)
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusInvestigating, b.ic.ID, "")
	require.NoError(t, err)
	b.run(t)

	require.ErrorIs(t, runTaken(b, job, 2), incident.ErrJobCancel)
	b.run(t)
	require.Equal(t, "resolved", fake.Incidents()[0].Status)
	require.Contains(t, b.message(t, inc, "Nothing was posted"), "the resolution notice went out after it was asked for")
	err = b.pub.RetryStatusPage(ctx, retryValue(t, b, inc), b.ic.ID)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "nor does its Retry button post it")

	_, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostUpdate, Ref: "u2", Body: "The errors are back; we are on it.", Actor: b.ic.ID})
	require.NoError(t, err)
	b.run(t)
	in := fake.Incidents()[0]
	require.Equal(t, "investigating", in.Status)
	require.Equal(t, "The errors are back; we are on it.", in.Updates[0].Body)
}

// TestQueuedResolutionNoticeIsDroppedAfterAReopen: a resolution notice
// still waiting for Statuspage when the incident is reopened does not mark
// the public incident resolved.
func TestQueuedResolutionNoticeIsDroppedAfterAReopen(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "fixed")
	require.NoError(t, err)
	b.run(t)
	job := failPost(t, b, fake, inc, comms.PublishInput{Kind: incident.PostResolution, Body: "Resolved."})
	b.advance(t, 2*time.Minute, 30*time.Second, 0)
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusInvestigating, b.ic.ID, "")
	require.NoError(t, err)
	b.run(t)

	require.ErrorIs(t, runTaken(b, job, 2), incident.ErrJobCancel)
	b.run(t)
	require.Equal(t, "investigating", fake.Incidents()[0].Status)
	require.Contains(t, b.message(t, inc, "Nothing was posted"), "the resolution notice was dropped because INC-1 was reopened")
}

// TestResolutionNoticeNeedsAPublicIncident: the resolution notice of an
// incident that was never on the status page is refused when asked for:
// it would open a public incident for one that is over.
func TestResolutionNoticeNeedsAPublicIncident(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "fixed")
	require.NoError(t, err)
	b.run(t)
	_, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostResolution, Body: "Resolved.", Actor: b.ic.ID})
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "never on the status page")
	b.run(t)
	require.Empty(t, fake.Incidents())
}

// buttonValue is the value of the button with the action id in the last
// message of the incident's channel that contains sub.
func buttonValue(t *testing.T, b httpBundle, inc *incident.Incident, sub, action string) string {
	t.Helper()
	msgs := b.srv.Messages(inc.ChannelID)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if !strings.Contains(m.Text, sub) {
			continue
		}
		var blocks []struct {
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		}
		require.NoError(t, json.Unmarshal(m.Blocks, &blocks))
		for _, bl := range blocks {
			for _, el := range bl.Elements {
				if el.ActionID == action {
					return el.Value
				}
			}
		}
	}
	t.Fatalf("no %s button on a message with %q", action, sub)
	return ""
}

// click asks for the post a Publish button names, as the bot does.
func click(t *testing.T, b httpBundle, value string) (bool, error) {
	t.Helper()
	id, kind, ref, err := comms.ParsePublishValue(value)
	require.NoError(t, err)
	return b.pub.Publish(context.Background(), id, comms.PublishInput{Kind: kind, Ref: ref, Shown: comms.PublishShown(value), Actor: b.ic.ID})
}

// TestPublishedTextIsTheProposedDraft: "Post to status page" posts the
// text its proposal showed. A status update posted between the proposal
// (the text the comms lead read and approved) and the click does not slip
// into the public post unseen.
func TestPublishedTextIsTheProposedDraft(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	b.advance(t, 30*time.Minute, 30*time.Second, 0)
	require.Equal(t, 1, b.said(inc, "nothing was posted on the status page for 30 minutes"), "the quiet spell proposes an update")
	value := buttonValue(t, b, inc, "nothing was posted on the status page for", incident.ActionStatusPagePublish)
	_, _, ref, err := comms.ParsePublishValue(value)
	require.NoError(t, err)
	shown, err := b.pub.Draft(ctx, inc.ID, incident.PostStillInvestigating, ref)
	require.NoError(t, err)
	require.Contains(t, b.message(t, inc, "nothing was posted on the status page for"), shown, "the proposal shows the draft")

	_, err = b.core.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: b.ic.ID, Known: "db-3 primary lost its disk; customer card tokens table being restored"})
	require.NoError(t, err)
	b.run(t)
	ok, err := click(t, b, value)
	require.NoError(t, err)
	require.True(t, ok)
	b.run(t)
	bodies := publicBodies(fake)
	require.Len(t, bodies, 2)
	require.Equal(t, shown, bodies[1], "what goes public is what was shown")
	require.NotContains(t, bodies[1], "db-3")
}

// TestEditOpensOnTheProposedDraft: the proposal's Edit button carries the
// text it showed, for the form to start from.
func TestEditOpensOnTheProposedDraft(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	_, err := b.core.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: b.ic.ID, Known: "rolling back"})
	require.NoError(t, err)
	b.run(t)
	value := buttonValue(t, b, inc, "Also post this update to the status page?", incident.ActionStatusPageEdit)
	_, kind, ref, err := comms.ParsePublishValue(value)
	require.NoError(t, err)
	draft, err := b.pub.Draft(ctx, inc.ID, kind, ref)
	require.NoError(t, err)
	text, ok := comms.ShownText(value)
	require.True(t, ok)
	require.Equal(t, draft, text)
	require.Contains(t, text, "rolling back.")
}

// TestLongProposalIsPostedOnlyAsShown: a proposal too long for a button
// carries its fingerprint. The click posts the draft if it is still the
// text shown; once it changed (a severity change promises another update
// time), the click is refused and points at Edit, and nothing is posted.
func TestLongProposalIsPostedOnlyAsShown(t *testing.T) {
	t.Parallel()
	long := strings.TrimSpace(strings.Repeat("The card tokens table is being restored from the 14:00 snapshot. ", 35))
	for _, changed := range []bool{false, true} {
		t.Run(fmt.Sprint("changed=", changed), func(t *testing.T) {
			t.Parallel()
			b, fake := reviewSetup(t)
			ctx := context.Background()
			inc := b.declare(t, incident.P1)
			publishFirst(t, b, fake, inc)
			_, err := b.core.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: b.ic.ID, Known: long})
			require.NoError(t, err)
			b.run(t)
			value := buttonValue(t, b, inc, "Also post this update to the status page?", incident.ActionStatusPagePublish)
			require.LessOrEqual(t, len(value), 2000, "a button holds 2000 characters")
			_, kind, ref, err := comms.ParsePublishValue(value)
			require.NoError(t, err)
			shown, err := b.pub.Draft(ctx, inc.ID, kind, ref)
			require.NoError(t, err)
			require.Greater(t, len(shown), 2000)
			_, ok := comms.ShownText(value)
			require.False(t, ok, "too long to carry")

			if changed {
				_, err = b.core.SetSeverity(ctx, inc.ID, incident.P3, b.ic.ID)
				require.NoError(t, err)
				b.run(t)
				_, err = click(t, b, value)
				require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
				require.Contains(t, incident.ErrorMessage(err), "Edit")
				b.run(t)
				require.Len(t, publicBodies(fake), 1, "nothing posted")
				return
			}
			_, err = click(t, b, value)
			require.NoError(t, err)
			b.run(t)
			bodies := publicBodies(fake)
			require.Len(t, bodies, 2)
			require.Equal(t, shown, bodies[1])
		})
	}
}

// TestRetriedPostKeepsItsTextAndIsNotPostedTwice: a "still investigating"
// post whose PATCH took effect but whose answer was lost (500) is retried
// after a new status update. The retry sends the text rendered when the
// post was asked for, recognises its first attempt, and posts nothing new.
func TestRetriedPostKeepsItsTextAndIsNotPostedTwice(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	_, err := b.core.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: b.ic.ID, Known: "rolling back"})
	require.NoError(t, err)
	b.run(t)

	ok, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostStillInvestigating, Ref: "1786114380", Actor: b.ic.ID})
	require.NoError(t, err)
	require.True(t, ok)
	job, ok := b.q.Take(comms.JobStatusPagePost)
	require.True(t, ok)
	fake.FailAfterActing(http.StatusInternalServerError)
	require.Error(t, runTaken(b, job, 1), "Statuspage acted, the answer was lost")
	b.run(t)
	before := publicBodies(fake)
	require.Len(t, before, 2)
	require.Contains(t, before[1], "rolling back.")

	_, err = b.core.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: b.ic.ID, Known: "rollback finished, watching"})
	require.NoError(t, err)
	b.run(t)
	require.NoError(t, runTaken(b, job, 2))
	b.run(t)
	require.Equal(t, before, publicBodies(fake), "the retry recognises what its first attempt posted")
	require.Equal(t, 1, fake.Incidents()[0].Notified-1, "subscribers heard the update once")
	require.Equal(t, 1, b.said(inc, "Posted an update on the status page"))
}

// TestQueuedPostWithoutTextStillPosts: a post queued before posts carried
// their text (a payload without a body) renders the draft when it runs.
func TestQueuedPostWithoutTextStillPosts(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	inc := b.declare(t, incident.P1)
	payload, err := json.Marshal(map[string]any{"incident_id": inc.ID, "kind": incident.PostAcknowledge, "actor": b.ic.ID, "at": b.clock.Now().Unix()})
	require.NoError(t, err)
	require.NoError(t, runTaken(b, incident.Job{Kind: comms.JobStatusPagePost, Payload: payload}, 1))
	b.run(t)
	bodies := publicBodies(fake)
	require.Len(t, bodies, 1)
	require.True(t, strings.HasPrefix(bodies[0], "We are aware of an issue affecting Checkout."), bodies[0])
}

// TestRejectedPostIsCorrectedWithEdit: a post Statuspage rejects is not
// retried as it is. Its failure notice has Edit, which starts from the
// words that were rejected; the corrected words are a new post, whose own
// failure the channel hears too, and which goes out once accepted.
func TestRejectedPostIsCorrectedWithEdit(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	fake.FailNext(http.StatusUnprocessableEntity)
	_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Body: "Checkout is down.", Actor: b.ic.ID})
	require.NoError(t, err)
	require.Len(t, b.q.RunDue(t, b.clock.Now()), 1, "a rejected post is not retried")
	failed := b.message(t, inc, "The status page post for INC-1 failed")
	require.Contains(t, failed, "Statuspage rejected the post")
	require.Contains(t, failed, "Edit")
	require.NotContains(t, failed, "correct it and use Retry")

	edit := buttonValue(t, b, inc, "The status page post for INC-1 failed", incident.ActionStatusPageEdit)
	text, ok := comms.ShownText(edit)
	require.True(t, ok)
	require.Equal(t, "Checkout is down.", text, "Edit starts from the rejected words")
	_, kind, ref, err := comms.ParsePublishValue(edit)
	require.NoError(t, err)

	b.clock.Advance(time.Minute)
	fake.FailNext(http.StatusUnprocessableEntity)
	ok, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: kind, Ref: ref, Body: "Checkout fails for some customers.", Actor: b.ic.ID})
	require.NoError(t, err)
	require.True(t, ok, "the corrected words are a new post")
	require.Len(t, b.q.RunDue(t, b.clock.Now()), 1)
	require.Equal(t, 2, b.said(inc, "The status page post for INC-1 failed"), "each post's failure is said")
	edit = buttonValue(t, b, inc, "The status page post for INC-1 failed", incident.ActionStatusPageEdit)
	require.Contains(t, edit, "|t:Checkout fails for some customers.", "the second failure's Edit starts from its own words")

	b.clock.Advance(time.Minute)
	_, err = b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: kind, Ref: ref, Body: "Checkout fails for some customers; we are on it.", Actor: b.ic.ID})
	require.NoError(t, err)
	b.run(t)
	require.Equal(t, []string{"Checkout fails for some customers; we are on it."}, publicBodies(fake))

	// The Retry of the second failure sends the words it failed with.
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(b.pub.RetryStatusPage(ctx, retryValue(t, b, inc), b.ic.ID)), "already posted")
}

// TestReopenAfterTheResolutionNoticeOffersToReopenThePublicIncident: after
// the resolution notice, a reopen puts the components back in outage at
// once, and offers (one click, as every public message) an update that
// reopens the public incident; posted, the page no longer reads
// "resolved" over components in outage.
func TestReopenAfterTheResolutionNoticeOffersToReopenThePublicIncident(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	resolveAndNotify(t, b, fake, inc)
	b.advance(t, 2*time.Minute, 30*time.Second, 0)
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusInvestigating, b.ic.ID, "")
	require.NoError(t, err)
	b.run(t)
	require.Equal(t, "major_outage", fake.Component("cmp-api"), "the components follow the reopen at once")
	require.Equal(t, "resolved", fake.Incidents()[0].Status, "no public words without a click")

	offer := b.message(t, inc, "was reopened after its resolution notice")
	require.Contains(t, offer, "The issue affecting Checkout has returned")
	value := buttonValue(t, b, inc, "was reopened after its resolution notice", incident.ActionStatusPagePublish)
	shown, ok := comms.ShownText(value)
	require.True(t, ok)
	ok, err = click(t, b, value)
	require.NoError(t, err)
	require.True(t, ok)
	b.run(t)
	in := fake.Incidents()[0]
	require.Equal(t, "investigating", in.Status, "a reopened incident is not shown resolved while its components are in outage")
	require.Equal(t, shown, in.Updates[0].Body)
	require.Equal(t, "major_outage", fake.Component("cmp-api"))
	require.Equal(t, 1, b.said(inc, "was reopened after its resolution notice"), "offered once")

	// Resolved and reopened again: offered again, for the new reopen.
	resolveAndNotify(t, b, fake, inc)
	b.advance(t, 2*time.Minute, 30*time.Second, 0)
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusInvestigating, b.ic.ID, "")
	require.NoError(t, err)
	b.run(t)
	require.Equal(t, 2, b.said(inc, "was reopened after its resolution notice"))
}

// TestReopenWithoutAResolutionNoticeOffersNothing: a public incident whose
// resolution notice was never posted still reads as open on the page; a
// reopen sets the components and offers nothing more.
func TestReopenWithoutAResolutionNoticeOffersNothing(t *testing.T) {
	t.Parallel()
	b, fake := reviewSetup(t)
	ctx := context.Background()
	inc := b.declare(t, incident.P1)
	publishFirst(t, b, fake, inc)
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, b.ic.ID, "fixed")
	require.NoError(t, err)
	b.run(t)
	b.advance(t, 2*time.Minute, 30*time.Second, 0)
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusInvestigating, b.ic.ID, "")
	require.NoError(t, err)
	b.run(t)
	require.Equal(t, "investigating", fake.Incidents()[0].Status)
	require.Equal(t, "major_outage", fake.Component("cmp-api"))
	require.Zero(t, b.said(inc, "was reopened after its resolution notice"))
}
