package bot

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// The status page clock of an incident raised to P1 starts at the raise,
// and the reminder sent directly to the person it calls on counts from
// there: a P2 declared at 14:23 (no clock) raised to P1 at 15:03 is nudged
// at 15:08, 5 minutes into its clock, not "45 minutes since it was
// declared".
func TestStatusPageReminderAfterARaiseCountsFromTheClockStart(t *testing.T) {
	page := &memPage{}
	f := newChgFixture(t, incident.P2, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.StatusPage.Components = []string{"cmp-api"}
		p.Services["checkout"] = svc
	})
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
	h := New(withService(Config{Slack: api, Scheduler: f.queue, Replays: f.store, Clock: f.clock, SigningSecret: testSigningSecret, MaxBodyBytes: 64 << 10},
		f.svc, f.store, f.chat, page))
	r := chi.NewRouter()
	h.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	tr := &transport{chgFixture: f, h: h, base: srv.URL, driver: slackfake.NewDriver(f.srv, testSigningSecret)}
	ctx := context.Background()

	step := func(d time.Duration) {
		for end := tr.clock.Now().Add(d); tr.clock.Now().Before(end); {
			tr.clock.Advance(30 * time.Second)
			tr.queue.RunDue(t, tr.clock.Now())
		}
	}
	step(40 * time.Minute)
	require.NotContains(t, tr.directMessages(), "status page", "P2 has no status page clock")
	_, err := tr.svc.SetSeverity(ctx, tr.inc.ID, incident.P1, tr.ic.ID)
	require.NoError(t, err)
	tr.queue.RunDue(t, tr.clock.Now())
	step(5*time.Minute + 30*time.Second)

	var reminders []string
	for _, m := range strings.Split(tr.directMessages(), "\n") {
		if strings.Contains(m, "is not on the status page yet") {
			reminders = append(reminders, m)
		}
	}
	require.Len(t, reminders, 1, "the nudge is sent directly once")
	require.Contains(t, reminders[0], "(5m00s since its status page clock started)", reminders[0])
	require.NotContains(t, reminders[0], "declared", "the clock started at the raise, 40 minutes after the declaration")
}
