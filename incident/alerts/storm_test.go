package alerts_test

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
)

// storm is one Alertmanager delivery (webhook payload version 4, as
// Alertmanager documents it) of n alerts of one alertname, one per pod,
// each with its own labels and fingerprint, all with status.
func storm(t *testing.T, alertname, status string, n int, startsAt time.Time) []byte {
	t.Helper()
	type alert struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     string            `json:"startsAt"`
		EndsAt       string            `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	}
	var list []alert
	for i := range n {
		ends := "0001-01-01T00:00:00Z"
		if status == "resolved" {
			ends = startsAt.Add(10 * time.Minute).Format(time.RFC3339Nano)
		}
		list = append(list, alert{Status: status,
			Labels:      map[string]string{"alertname": alertname, "service": "checkout", "pod": fmt.Sprintf("checkout-7d9f-%02d", i)},
			Annotations: map[string]string{"summary": fmt.Sprintf("checkout-7d9f-%02d answers no health check", i)},
			StartsAt:    startsAt.Format(time.RFC3339Nano), EndsAt: ends,
			GeneratorURL: "http://prometheus.example.com:9090/graph?g0.expr=up%3D%3D0", Fingerprint: fmt.Sprintf("f00d%012d", i)})
	}
	body, err := json.Marshal(map[string]any{"version": "4", "groupKey": `{}:{alertname="` + alertname + `"}`, "truncatedAlerts": 0,
		"status": status, "receiver": "firebreak", "groupLabels": map[string]string{"alertname": alertname},
		"commonLabels": map[string]string{"alertname": alertname, "service": "checkout"}, "commonAnnotations": map[string]string{},
		"externalURL": "http://alertmanager.example.com:9093", "alerts": list})
	require.NoError(t, err)
	return body
}

// TestAlertStormDeclaresOneIncident: a rule that declares at once fires
// for twenty pods in one delivery. One incident is declared and on-call
// paged once; the other nineteen alerts join it, on its timeline and off
// the channel. When they resolve, the channel hears of the first only.
func TestAlertStormDeclaresOneIncident(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		ctx := context.Background()
		h := alertmanager(b)
		started := b.clock.Now().Add(-2 * time.Minute)

		require.Equal(t, http.StatusOK, deliver(t, h, storm(t, "CheckoutDown", "firing", 20, started)))
		require.Equal(t, http.StatusOK, deliver(t, h, storm(t, "CheckoutDown", "firing", 20, started))) // a resend
		require.Empty(t, b.queue.RunAll(t))
		list := incidents(t, b)
		require.Len(t, list, 1, "one incident for the storm")
		inc := list[0]
		joined, err := b.store.ListAlerts(ctx, inc.ID)
		require.NoError(t, err)
		require.Len(t, joined, 20, "every alert is the incident's")
		evs, err := b.store.ListTimeline(ctx, inc.ID)
		require.NoError(t, err)
		too := 0
		for _, e := range evs {
			if e.Kind == incident.EventAlert && !e.Key {
				too++
			}
		}
		require.Equal(t, 19, too, "the others are on the timeline, off the key events")
		require.Empty(t, postsContaining(b.chat, inc.ChannelID, "firing too"), "nothing said per alert")

		b.clock.Advance(10 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, storm(t, "CheckoutDown", "resolved", 20, started)))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "resolved"), 1, "%q", b.chat.PostsIn(inc.ChannelID))
	})
}

// TestAlertStormIsOneProposal: a rule that asks first fires for twenty
// pods. One proposal is posted; when someone declares from it, the other
// alerts join the incident as they are heard of again, and none is
// proposed on its own.
func TestAlertStormIsOneProposal(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		ctx := context.Background()
		h := alertmanager(b)
		started := b.clock.Now().Add(-2 * time.Minute)

		require.Equal(t, http.StatusOK, deliver(t, h, storm(t, "HighErrorRate", "firing", 20, started)))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, "#checkout", "HighErrorRate"), 1, "one proposal: %q", b.chat.PostsIn("#checkout"))
		require.Empty(t, incidents(t, b))

		leader, err := b.store.FindAlert(ctx, "alertmanager", fmt.Sprintf("f00d%012d", 0))
		require.NoError(t, err)
		inc, err := b.alrt.DeclareFromAlert(ctx, leader.ID, "U0ALICE", incident.ReplyTarget{})
		require.NoError(t, err)
		require.Empty(t, b.queue.RunAll(t))

		// Alertmanager sends the group again (a new alert in it, or its
		// repeat interval): the others join the incident.
		b.clock.Advance(5 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, storm(t, "HighErrorRate", "firing", 21, started)))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, incidents(t, b), 1)
		require.Len(t, postsContaining(b.chat, "#checkout", "HighErrorRate"), 1, "no proposal per alert: %q", b.chat.PostsIn("#checkout"))
		joined, err := b.store.ListAlerts(ctx, inc.ID)
		require.NoError(t, err)
		require.Len(t, joined, 21)

		// Once the incident is over, the rule firing again is a new
		// proposal.
		_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0ALICE", "rolled back")
		require.NoError(t, err)
		require.Empty(t, b.queue.RunAll(t))
		b.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, storm(t, "HighErrorRate", "firing", 22, started)))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, "#checkout", "HighErrorRate"), 2, "%q", b.chat.PostsIn("#checkout"))
	})
}

// TestStormProposalMembersJoinTheDeclaredIncident: the alerts that joined a
// proposal join the incident declared from it at once, each said on its
// timeline if it still fires, not at their next delivery, which
// Alertmanager makes only every repeat_interval (4 hours by default) when
// nothing changes. A second click changes nothing more.
func TestStormProposalMembersJoinTheDeclaredIncident(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		ctx := context.Background()
		h := alertmanager(b)
		started := b.clock.Now().Add(-2 * time.Minute)

		require.Equal(t, http.StatusOK, deliver(t, h, storm(t, "HighErrorRate", "firing", 5, started)))
		require.Empty(t, b.queue.RunAll(t))
		// One pod recovers before anyone decides.
		gone, err := b.store.FindAlert(ctx, "alertmanager", fmt.Sprintf("f00d%012d", 4))
		require.NoError(t, err)
		_, err = b.store.UpdateAlert(ctx, gone.ID, func(a *incident.Alert) error { a.Status = incident.AlertResolved; return nil })
		require.NoError(t, err)

		leader, err := b.store.FindAlert(ctx, "alertmanager", fmt.Sprintf("f00d%012d", 0))
		require.NoError(t, err)
		inc, err := b.alrt.DeclareFromAlert(ctx, leader.ID, "U0ALICE", incident.ReplyTarget{})
		require.NoError(t, err)
		require.Empty(t, b.queue.RunAll(t))

		joined, err := b.store.ListAlerts(ctx, inc.ID)
		require.NoError(t, err)
		require.Len(t, joined, 5, "every alert of the proposal is the incident's")
		firingToo := func() int {
			evs, err := b.store.ListTimeline(ctx, inc.ID)
			require.NoError(t, err)
			n := 0
			for _, e := range evs {
				if e.Kind == incident.EventAlert && strings.Contains(e.Text, "firing too") {
					n++
				}
			}
			return n
		}
		require.Equal(t, 3, firingToo(), "the three others that fire are on the timeline")

		_, err = b.alrt.DeclareFromAlert(ctx, leader.ID, "U0ALICE", incident.ReplyTarget{})
		require.NoError(t, err)
		require.Empty(t, b.queue.RunAll(t))
		require.Equal(t, 3, firingToo(), "a second click adds nothing")
		require.Len(t, incidents(t, b), 1)
	})
}
