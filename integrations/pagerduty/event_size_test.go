package pagerduty_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// PagerDuty limits an Events API v2 event to 512 KB and its summary to
// 1024 characters (developer-docs events-API-v2/01-Overview.md "Size
// Limits", 02-Trigger-Events.md). A page whose details or title would go
// past them is still sent and accepted: the summary and the longest
// custom_details are cut, as much kept as fits, and the event says what
// was cut. Text that JSON escapes to several bytes a character counts as
// sent.
func TestPageEventsV2FitsPagerDutysSizeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		details string
	}{
		{name: "plain text", details: strings.Repeat("stack frame 0x7f\n", 40_000)},
		{name: "text that escapes long", details: strings.Repeat(`<é"&>`, 120_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *pagerduty.Config) { c.Token = "" })
			req := b.request(b.events)
			req.Title = strings.Repeat("checkout down ", 100)
			req.Details = tt.details
			require.Greater(t, len(req.Details), pdfake.MaxEventBytes)

			_, err := b.client.Page(t.Context(), req)
			require.NoError(t, err)

			evs := b.fake.Events()
			require.Len(t, evs, 1, "sent once")
			ev := evs[0]
			require.Equal(t, http.StatusAccepted, ev.Status)
			require.LessOrEqual(t, utf8.RuneCountInString(ev.Summary), 1024)
			require.True(t, strings.HasPrefix(ev.Summary, "[INC-42] checkout down"))
			details, _ := ev.CustomDetails["details"].(string)
			require.NotEmpty(t, details)
			require.True(t, strings.HasPrefix(tt.details, strings.TrimSuffix(details, "…")), "the start is kept")
			require.Less(t, len(details), len(tt.details))
			require.Greater(t, len(details), len(tt.details)/8, "as much kept as fits")
			note, _ := ev.CustomDetails["trimmed"].(string)
			require.Contains(t, note, "details")
			require.Contains(t, note, "summary")
			require.Contains(t, note, "512 KB")
			require.Equal(t, "INC-42", ev.CustomDetails["incident"], "the short details stay")
			require.Len(t, b.fake.Incidents(), 1)
		})
	}
}

// A page that fits is sent as it is, with no note.
func TestPageEventsV2ThatFitsIsNotTrimmed(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *pagerduty.Config) { c.Token = "" })
	req := b.request(b.events)
	req.Details = strings.Repeat("x", 100_000)
	_, err := b.client.Page(t.Context(), req)
	require.NoError(t, err)
	ev := b.fake.Events()[0]
	require.Equal(t, http.StatusAccepted, ev.Status)
	require.Equal(t, req.Details, ev.CustomDetails["details"])
	require.NotContains(t, ev.CustomDetails, "trimmed")
	require.Equal(t, "[INC-42] Checkout is down", ev.Summary)
}
