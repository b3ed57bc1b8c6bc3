package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestDeclarerToldOfTheChannelAfterARateLimit: the war room is set up, and
// Slack rate limits the private message telling the declarer where the
// incident channel is. The setup job fails so that it is retried; the
// retry tells them, without creating or announcing anything twice.
func TestDeclarerToldOfTheChannelAfterARateLimit(t *testing.T) {
	t.Parallel()
	b := slackSetup(t)
	ctx := context.Background()
	_, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, DeclaredBy: b.decl.ID,
		ReplyTo: incident.ReplyTarget{UserID: b.decl.ID, ChannelID: b.general.ID}})
	require.NoError(t, err)
	job, ok := b.queue.Take(incident.JobSetup)
	require.True(t, ok)
	b.srv.RateLimitNext("chat.postEphemeral", 1, time.Second)
	told := func() int {
		n := 0
		for _, e := range b.srv.Ephemerals(b.general.ID) {
			if e.User == b.decl.ID {
				n++
			}
		}
		return n
	}

	require.Error(t, b.attempt(job, 701, 1), "the declarer was not told: the job is retried")
	require.Zero(t, told())
	require.NoError(t, b.attempt(job, 701, 2))
	require.Equal(t, 1, told(), "the declarer hears where the incident is, once")
	require.Len(t, b.srv.Messages(b.broadcast.ID), 1, "announced once")
	channels := 0
	for _, ch := range b.srv.Channels() {
		if !ch.IM && ch.ID != b.general.ID && ch.ID != b.broadcast.ID {
			channels++
		}
	}
	require.Equal(t, 1, channels, "one incident channel")
}
