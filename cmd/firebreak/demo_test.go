package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDemo runs `firebreak demo` as a user would and checks that it
// plays the whole script, prints the channel, and finishes in time.
func TestDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	require.NoError(t, run(ctx, []string{"demo"}, envOf(nil), &out, &out), out.String())
	require.Less(t, time.Since(start), time.Minute)
	got := out.String()
	for _, want := range []string{
		"Alice> /incident declare P1 --service=checkout Checkout is failing",
		"#inc-" + time.Now().UTC().Format("2006-01-02") + "-checkout-is-failing",
		"buttons: [I'm the IC] [Assign roles] [Post update] [Change severity] [Page on-call] [What changed?] [Resolve]",
		"Paged *Checkout* in PagerDuty",
		"Status page draft for INC-1",
		"Posted on the status page (Statuspage · investigating)",
		"Statuspage: \"Issue affecting Checkout\" is public at https://stspg.io/",
		"Posted the resolution notice on the status page",
		"resolved, components operational",
		"Acknowledged by Bob Roe in PagerDuty",
		"needs a status update",
		"Status update — INC-1",
		"What changed?",
		"Bob clicks [Roll back] in the modal",
		"Bob clicks [Roll back]\n",
		"The changes listed:",
		"Deploy acme/checkout@9f8e7d6 to production",
		"Turned on the flag New checkout flow in production",
		"Redeploy acme/checkout to production at 1a2b3c4 (from 9f8e7d6)",
		"succeeded",
		"closed the incident",
		"## 3. Root cause analysis",
		"exported the INC-1 postmortem in GitHub",
		"postmortems/" + time.Now().UTC().Format("2006-01-02") + "-checkout-is-failing.md",
		"Demo complete in",
	} {
		require.Contains(t, got, want)
	}
	require.NotRegexp(t, `clicks \[[a-z_]+\]`, got, "clicks show the button's label, not its action id")
	require.NotContains(t, got, "WARN", "the happy path logs no warnings")
	require.NotContains(t, got, "14:02", "the story's times are the recorded ones")
	// One participant per person: the Slack and PagerDuty names agree.
	require.Equal(t, 1, strings.Count(got, "- Bob Roe"), "Bob is listed once among the participants")
}
