package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// sharedReplica is one replica's Slack client, built as serve builds it,
// sharing rate limits through its own connection to dsn.
func sharedReplica(t *testing.T, ctx context.Context, dsn string, fake *slackfake.Server) *slack.Client {
	t.Helper()
	db, err := gormstore.Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	share, stop := shareRateLimits(ctx, db, slog.New(slog.NewTextHandler(t.Output(), nil)))
	t.Cleanup(stop)
	out := outbound.New(outbound.Policy{Provider: "slack", Operation: outbound.SlackOperation, Retryable: slackRetryable,
		RateKey: outbound.SlackRateKey}, share)
	return slack.New(fake.BotToken(), slack.OptionAPIURL(fake.URL()), slack.OptionHTTPClient(out.HTTPClient()))
}

// postUntilLimited posts in channel until Slack answers 429, as a job
// does (the 429 is handed back), and returns that error.
func postUntilLimited(t *testing.T, api *slack.Client, channel string) error {
	t.Helper()
	job := incident.WithJobRun(context.Background(), 1, 1, 10)
	for i := 0; i < 200; i++ {
		if _, _, err := api.PostMessageContext(job, channel, slack.MsgOptionText(fmt.Sprint("a", i), false)); err != nil {
			return err
		}
	}
	t.Fatal("Slack never answered 429")
	return nil
}

// Slack's limits are per app and workspace: a 429 one replica received
// holds every replica on the same PostgreSQL database, those running when
// it came (told at once) and one started later (reading it at start).
func TestRateLimitSharedAcrossReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.MigratedDSN(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	fake := slackfake.New(slackfake.WithRateLimits())
	t.Cleanup(fake.Close)
	ch := fake.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{slackfake.DefaultBotUserID}})

	a, b := sharedReplica(t, ctx, dsn, fake), sharedReplica(t, ctx, dsn, fake)
	errA := postUntilLimited(t, a, ch.ID)
	var rl *slack.RateLimitedError
	require.ErrorAs(t, errA, &rl, "replica A is told to wait")

	time.Sleep(200 * time.Millisecond)
	_, _, errB := b.PostMessageContext(incident.WithJobRun(context.Background(), 2, 1, 10), ch.ID, slack.MsgOptionText("b", false))
	var gated *outbound.RateLimitedError
	require.True(t, errors.As(errB, &gated), "replica B waits without calling Slack: %v", errB)
	require.Greater(t, gated.Wait, 50*time.Second)

	// A replica that starts after the 429 (it missed the notification)
	// has read it from the table before its first call.
	c := sharedReplica(t, ctx, dsn, fake)
	_, _, errC := c.PostMessageContext(incident.WithJobRun(context.Background(), 3, 1, 10), ch.ID, slack.MsgOptionText("c", false))
	require.True(t, errors.As(errC, &gated), "replica C waits without calling Slack: %v", errC)
	require.Empty(t, fake.PrematureCalls(), "no replica calls Slack before Retry-After")
}
