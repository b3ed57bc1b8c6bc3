package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestFollowupsOfPrivateIncidentsStayPrivate(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) {
		p.FollowUps.DigestChannel = "#followups"
		p.Teams = map[string]incident.Team{"payments": {Name: "payments", Services: []string{"checkout"}, Channel: "#payments"}}
	})
	ctx := context.Background()
	priv, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "card numbers in the access logs", Severity: incident.P2,
		ServiceKey: "checkout", DeclaredBy: "U0DECL", Private: true, ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
	require.NoError(t, err)
	pub := declare(t, b, "checkout is slow", incident.P3, "")
	require.Empty(t, b.queue.RunAll(t))
	due := time.Date(2026, 8, 11, 0, 0, 0, 0, time.UTC)
	_, err = b.capt.AddFollowUp(ctx, priv.ID, "U0DECL", "purge the leaked card numbers", "U0OWNER", &due)
	require.NoError(t, err)
	_, err = b.capt.AddFollowUp(ctx, pub.ID, "U0DECL", "add a latency alarm", "U0OWNER", nil)
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))

	texts := func(fs []incident.FollowUp) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Item.Text)
		}
		return out
	}
	for _, f := range []incident.FollowUpFilter{{Viewer: "U0STRANGER"}, {Viewer: "U0STRANGER", OverdueOnly: true}, {Viewer: "U0STRANGER", Owner: "U0OWNER"}} {
		got, err := b.svc.Followups(ctx, f)
		require.NoError(t, err)
		require.NotContains(t, texts(got), "purge the leaked card numbers", "%+v", f)
	}
	got, err := b.svc.Followups(ctx, incident.FollowUpFilter{Viewer: "U0DECL"})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"purge the leaked card numbers", "add a latency alarm"}, texts(got), "a member sees both")
	_, err = b.svc.Followups(ctx, incident.FollowUpFilter{})
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err), "no viewer, no list")

	// The Monday digest names the private item only by the redacted title.
	b.clock.Set(time.Date(2026, 8, 10, 9, 0, 0, 0, time.UTC))
	_, err = b.svc.SweepFollowThrough(ctx)
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	digest := postsContaining(b.chat, "#payments", "Weekly follow-ups, payments")
	require.Len(t, digest, 1)
	require.Contains(t, digest[0], "2 open, 0 overdue")
	require.Contains(t, digest[0], "add a latency alarm")
	require.Contains(t, digest[0], "Private incident "+priv.Key())
	require.NotContains(t, digest[0], "purge")
	require.NotContains(t, digest[0], "card numbers")
	require.False(t, strings.Contains(digest[0], priv.Title))
}

func TestReviewStateNeedsTheICTheCommanderGroupOrTheOwner(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0TEAM" })
	ctx := context.Background()
	inc := declare(t, b, "checkout is down", incident.P2, "")
	require.Empty(t, b.queue.RunAll(t))
	closeIncident(t, b, inc)
	require.Empty(t, b.queue.RunAll(t))
	r, err := b.svc.Review(ctx, inc.ID)
	require.NoError(t, err)
	r.Owner = "U0WRITER"
	require.NoError(t, b.store.SaveReview(ctx, r))

	_, err = b.svc.SetReviewState(ctx, inc.ID, incident.ReviewPublished, "U0STRANGER")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "the review is run by the Incident Commander, the commander group and its owner")
	require.Contains(t, incident.ErrorMessage(err), "U0WRITER")
	r, err = b.svc.Review(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.ReviewDraft, r.State, "a refusal changes nothing")

	for _, who := range []struct{ user, state string }{{"U0WRITER", "in_review"}, {"U0CAROL", "draft"}, {"U0DECL", "published"}} {
		r, err = b.svc.SetReviewState(ctx, inc.ID, incident.ReviewState(who.state), who.user)
		require.NoError(t, err, who.user)
		require.Equal(t, incident.ReviewState(who.state), r.State)
	}
}
