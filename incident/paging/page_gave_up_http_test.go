package paging_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// While PagerDuty is down the page is retried in the background until the
// job's attempts run out; then the channel hears, once, that paging gave
// up, after how long, and what to do: page by phone, or Retry page.
func TestPageThatGivesUpSaysSoInTheChannel(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksAfterAnswer)
	fake.SetDown(true)
	inc := readyAt(t, b, incident.P2)
	advance(t, b, 3*time.Hour)
	require.Empty(t, fake.Incidents(), "PagerDuty was down throughout")

	posts := b.chat.Posts[inc.ChannelID]
	var paging []string
	for _, p := range posts {
		if strings.Contains(p, "Paging Checkout") {
			paging = append(paging, p)
		}
	}
	require.Len(t, paging, 2, "the failure, then the end of the retries: %q", paging)
	require.Equal(t, 1, strings.Count(strings.ToLower(paging[0]), "retrying in the background"), "said once: %q", paging[0])
	last := paging[1]
	require.Contains(t, last, "*Paging Checkout gave up* after ")
	require.Contains(t, last, "minutes")
	require.Contains(t, last, "PagerDuty is not responding")
	require.NotContains(t, strings.ToLower(last), "retrying in the background")
	require.Contains(t, last, "by phone")
	require.Contains(t, last, "[Retry page:page_retry=")
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "gave up"), 1)
	events, err := b.store.ListTimeline(t.Context(), inc.ID)
	require.NoError(t, err)
	gaveUp := 0
	for _, ev := range events {
		if strings.Contains(ev.Text, "gave up") {
			gaveUp++
		}
	}
	require.Equal(t, 1, gaveUp, "on the timeline once")
}

// TestPageThatGaveUpEnds: the page job's last attempt fails while it still
// has snoozes left (its attempts went on other failures): once the channel
// is told paging gave up and nobody was paged, the job ends, and nobody is
// paged later when PagerDuty is back.
func TestPageThatGaveUpEnds(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksAfterAnswer)
	fake.SetDown(true)
	inc := readyAt(t, b, incident.P2)
	job, ok := b.queue.Take(paging.JobPage)
	require.True(t, ok, "the page waits for its retry")

	err := b.queue.Handler(job.Kind)(incident.WithJobRun(t.Context(), 901, job.MaxAttempts, job.MaxAttempts), job.Payload)
	require.ErrorIs(t, err, incident.ErrJobCancel, "the job ends as the channel was told")
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "gave up"), 1)

	fake.SetDown(false)
	advance(t, b, time.Hour)
	require.Empty(t, fake.Incidents(), "nobody is paged after the channel was told nobody was")
}
