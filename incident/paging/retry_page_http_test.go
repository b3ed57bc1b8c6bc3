package paging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// retryButtonValue returns the value of the Retry page button posted in ch.
func retryButtonValue(t *testing.T, b bundle, ch string) string {
	t.Helper()
	marker := ":" + incident.ActionRetryPage + "="
	for _, p := range b.chat.PostsIn(ch) {
		if _, rest, ok := strings.Cut(p, marker); ok {
			value, _, _ := strings.Cut(rest, "]")
			return value
		}
	}
	t.Fatalf("no Retry page button in %q", b.chat.PostsIn(ch))
	return ""
}

// TestRetryPageWhilePagerDutyIsDownPagesOnce: PagerDuty is unreachable when
// an incident is declared; the channel hears the page failed and is being
// retried, and people click Retry page, more than once. When PagerDuty is
// back, on-call is paged once: the clicks retry the same page (the same
// incident_key) as the background retry, not new pages.
func TestRetryPageWhilePagerDutyIsDownPagesOnce(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksHeld)
	ctx := context.Background()
	fake.SetDown(true)
	inc := declare(t, b, "checkout is down", incident.P2, "")
	advance(t, b, 5*time.Second)
	inc, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Paging Checkout failed"), 1, "%q", b.chat.PostsIn(inc.ChannelID))
	value := retryButtonValue(t, b, inc.ChannelID)

	// Two people click Retry page a few seconds apart, PagerDuty still
	// down.
	require.NoError(t, b.pg.RetryPage(ctx, value, "U0DECL"))
	advance(t, b, 3*time.Second)
	require.NoError(t, b.pg.RetryPage(ctx, value, "U0KIM"))
	advance(t, b, 3*time.Second)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Paging Checkout failed"), 3, "each click that fails is answered")
	require.Empty(t, fake.Incidents())

	fake.SetDown(false)
	advance(t, b, 2*time.Minute)
	require.Empty(t, b.queue.RunAll(t))

	require.Len(t, fake.Incidents(), 1, "on-call is paged once")
	pages, err := b.store.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, pages, 1)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Paged *Checkout* in PagerDuty"), 1, "%q", b.chat.PostsIn(inc.ChannelID))
}
