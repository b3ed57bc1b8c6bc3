package bot

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestViewsOpenThatLandedIsNotDeniedToThePerson: views.open that opened
// the form and then answered 500 (or timed out) was told to the person as
// "Slack did not open the declare form. Declare directly instead", while
// the form was on their screen: following the advice and submitting the
// form declared the incident twice. Such a failure says the form may not
// have opened; a refusal, which certainly opened nothing, still says it
// did not.
func TestViewsOpenThatLandedIsNotDeniedToThePerson(t *testing.T) {
	t.Parallel()
	tookEffect := func(tr *transport) {
		tr.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
			if c.Method == "views.open" {
				return slackfake.TookEffectThen(http.StatusInternalServerError)
			}
			return nil
		})
	}
	for _, tt := range []struct {
		name, command string
		fault         func(tr *transport)
		opened        bool
		want          string
	}{
		{"declare form opened, then 500", "declare", tookEffect, true,
			"Slack may not have opened the declare form; if it did not appear, declare directly instead: `/incident declare P1 checkout is down`."},
		{"declare form refused", "declare", func(tr *transport) { tr.srv.ErrorNext("views.open", 1, "expired_trigger_id") }, false,
			"Slack did not open the declare form. Declare directly instead: `/incident declare P1 checkout is down`."},
		{"update form opened, then 500", "update", tookEffect, true,
			"Slack may not have opened the form; if it did not appear, try the slash command instead (`/incident help`)."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTransport(t)
			tt.fault(tr)
			body := replyText(t, tr.command(t, tr.ic.ID, tr.inc.ChannelID, tt.command))
			require.Equal(t, tt.opened, len(tr.srv.OpenViews()) > 0)
			require.Contains(t, body, tt.want)
			if tt.opened {
				require.NotContains(t, body, "did not open", "the form on the person's screen is not denied")
			}
		})
	}
}
