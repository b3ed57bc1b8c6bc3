package bot_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// A job retried a minute later says "11 minutes left" where its first
// attempt, which Slack answered 500 after posting, said "12 minutes": the
// retry finds that copy and posts nothing more.
func TestStatusPageNudgeRetriedAMinuteLaterIsPostedOnce(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "inc-20260301-comms", f.alice.ID).ID
	nudge := func(left string) incident.Notice {
		return incident.Notice{Kind: incident.NoticeStatusPageNudge, Incident: "INC-7", Actor: "bot", User: f.alice.ID,
			Values:  map[string]string{"left": left, "within": "30 minutes"},
			Buttons: []incident.Button{{Action: incident.ActionStatusPagePublish, Text: "Publish", Value: "7|ack|"}}}
	}
	f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == "chat.postMessage" {
			return slackfake.TookEffectThen(http.StatusInternalServerError)
		}
		return nil
	})
	if _, err := f.chat.Notify(incident.WithJobRun(context.Background(), 42, 1, 10), ch, nudge("12 minutes")); err == nil {
		t.Fatal("want the 500")
	}
	f.srv.ClearFaults()
	// The job's retry, run when minutes(deadline-now) has moved by one.
	if _, err := f.chat.Notify(incident.WithJobRun(context.Background(), 42, 2, 10), ch, nudge("11 minutes")); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range f.srv.Messages(ch) {
		if strings.Contains(m.Text, "not on the status page yet") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d status page reminders in the channel, want 1", n)
	}
}
