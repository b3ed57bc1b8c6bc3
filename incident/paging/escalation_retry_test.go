package paging_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// PagerDuty may carry out the bot's escalation and then fail to answer it
// (a 500, or a timeout after the update took effect). The re-page job fails
// and is retried; the retry must escalate to the level the step decided
// (one past the level the page was at), not one past the level it is at
// now, which would wake the next level's on-call for nothing.

// reportTiming is when PagerDuty's report of the escalation arrives.
type reportTiming struct {
	name string
	when pdfake.WebhookTiming
	// betweenAttempts delivers the held report after the failed attempt
	// and before the retry, as the job engine's backoff allows.
	betweenAttempts bool
	// said is the line the channel hears: the bot's re-page when the
	// report reaches the bot before the retry recorded the escalation
	// (held back, then its echo) or after; PagerDuty's report when it
	// arrives between the attempts. Empty when either may come first.
	said string
}

const (
	saidByBot = "so I escalated it in PagerDuty to the next level, now paging Carol Poe"
	saidByPD  = "escalated the page for checkout to Carol Poe"
)

var reportTimings = []reportTiming{
	{name: "before the failed answer", when: pdfake.WebhooksBeforeAnswer, said: saidByBot},
	{name: "as it answers", when: pdfake.WebhooksAfterAnswer},
	{name: "between the attempts", when: pdfake.WebhooksHeld, betweenAttempts: true, said: saidByPD},
	{name: "after the retry", when: pdfake.WebhooksHeld, said: saidByBot},
}

func TestEscalationThatTookEffectThenFailedIsNotRepeatedOnRetry(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		for _, timing := range reportTimings {
			t.Run(fmt.Sprintf("%s/%s", kind, timing.name), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				b, fake := pdEchoSetupOn(t, kind, timing.when)
				// Someone is on call at level 3: a second escalation would
				// wake Dan.
				fake.AddUser(pdfake.User{ID: "PUDAN", Name: "Dan Moe", Email: "dan@example.com"})
				fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 3, UserID: "PUDAN", Schedule: "Tertiary"})
				attempts := 0
				repage := b.queue.Handler(paging.JobRepage)
				b.queue.Handle(paging.JobRepage, func(ctx context.Context, payload []byte) error {
					attempts++
					err := repage(ctx, payload)
					if err != nil && timing.betweenAttempts {
						fake.DeliverWebhooks(ctx)
					}
					return err
				})
				inc := readyAt(t, b, incident.P2)
				fake.DeliverWebhooks(ctx)
				require.Len(t, fake.Incidents(), 1)
				pdInc := fake.Incidents()[0]
				require.Equal(t, 1, pdInc.EscalationLevel)

				// Nobody acknowledges within the hour. PagerDuty escalates
				// the page to level 2, then answers 500.
				fake.FailNextUpdateAfterEffect(1, http.StatusInternalServerError)
				advance(t, b, 61*time.Minute)
				require.NoError(t, fake.WaitWebhooks(ctx))
				fake.DeliverWebhooks(ctx)
				advance(t, b, time.Minute)
				require.Equal(t, 2, attempts, "the failed attempt was retried")

				got, ok := fake.Incident(pdInc.ID)
				require.True(t, ok)
				require.Equal(t, 2, got.EscalationLevel, "exactly one level up")
				require.Equal(t, []string{"PUCAROL"}, got.Assignees)
				require.Equal(t, []string{"PUBOB", "PUCAROL"}, got.Notified, "level 2 woken once, level 3 never")
				var updates []int
				for _, c := range fake.Calls() {
					if c.Method == http.MethodPut && strings.HasPrefix(c.Path, "/incidents") {
						updates = append(updates, c.Status)
					}
				}
				require.Equal(t, []int{http.StatusInternalServerError}, updates, "one update, whose answer was lost; the retry changed nothing")

				lines, events := escalationsSaid(t, b, inc)
				require.Len(t, lines, 1, "said once: %q", lines)
				require.Len(t, events, 1, "one key event: %q", events)
				require.Contains(t, lines[0], cmp.Or(timing.said, "Carol Poe"))
				require.Equal(t, []string{"incident.triggered", "incident.escalated"}, deliveredOK(t, fake))
				page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
				require.NoError(t, err)
				require.Equal(t, []string{"Carol Poe"}, page.Assignees)
				require.Equal(t, "triggered", page.Status)
				require.True(t, hasSource(t, b, inc, fmt.Sprintf("repage:%s:1", pageKey)), "the step's outcome is recorded")
				evs, err := b.store.ListTimeline(ctx, inc.ID)
				require.NoError(t, err)
				i := slices.IndexFunc(evs, func(e incident.TimelineEvent) bool { return e.SourceID == "escalating:"+pageKey+":1" })
				require.GreaterOrEqual(t, i, 0)
				require.Equal(t, incident.PagedData{Service: "checkout", Page: pageKey, Repage: 1, Level: 2}, evs[i].Payload,
					"the level decided once, kept; the escalation no longer in flight")
				require.True(t, jobWaits(b, paging.JobRepage, fmt.Sprintf("repage:%s:2", pageKey)), "the next check is planned")
				// Nothing holds PagerDuty's reports back any longer.
				require.Zero(t, b.queue.Pending(paging.JobPageEvent))
			})
		}
	}
}

// jobWaits reports whether a job of kind with key waits.
func jobWaits(b bundle, kind, key string) bool {
	for _, j := range b.queue.Jobs() {
		if j.Kind == kind && j.Key == key {
			return true
		}
	}
	return false
}
