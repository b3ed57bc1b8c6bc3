package postmortem_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	pmt "github.com/firebreakhq/firebreak/incident/postmortem/postmortemtest"
)

func at(min, sec int) time.Time {
	return pmt.Declared().Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

func milestone(t *testing.T, d postmortem.Draft, name string) postmortem.Milestone {
	t.Helper()
	for _, m := range d.Timeline {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no milestone %q", name)
	return postmortem.Milestone{}
}

func TestCompileReplay(t *testing.T) {
	t.Parallel()
	in := pmt.Replay()
	d := postmortem.Compile(in)

	t.Run("header", func(t *testing.T) {
		require.Equal(t, "INC-42", d.Key)
		require.Equal(t, "Checkout fails for card payments", d.Title)
		require.Equal(t, incident.P1, d.Severity)
		require.Equal(t, "critical", d.SeverityLabel)
		require.Equal(t, "Resolved", d.Status)
		require.Equal(t, "Checkout", d.Service, "the policy's service name, not its key")
		require.Equal(t, "2026-03-14", d.Day)
		require.Equal(t, "checkout-fails-for-card-payments", d.Slug)
		require.Equal(t, 67*time.Minute, d.Duration)
		require.False(t, d.Open)
	})

	t.Run("summary is plain and names nobody", func(t *testing.T) {
		require.Contains(t, d.Summary, "Saturday 14 March 2026 at 14:05 UTC")
		require.Contains(t, d.Summary, "Customers could not pay by card")
		require.Contains(t, d.Summary, "P1 (critical")
		require.Contains(t, d.Summary, "lasted 1h 07m")
		require.Contains(t, d.Summary, "resolved at 15:12 UTC")
		for _, name := range pmt.Names() {
			require.NotContains(t, d.Summary, name)
		}
		require.NotContains(t, d.Summary, "<@")
	})

	t.Run("milestones", func(t *testing.T) {
		want := map[string]time.Time{
			postmortem.MilestoneStarted:      at(0, 0),
			postmortem.MilestoneDeclared:     at(0, 0),
			postmortem.MilestoneCommander:    at(0, 0),
			postmortem.MilestonePaged:        at(0, 30),
			postmortem.MilestoneAcknowledged: at(22, 0),
			postmortem.MilestoneDiagnosis:    at(1, 10), // Alice's first message beats the first update at 3:30
			postmortem.MilestoneChanges:      at(4, 0),
			postmortem.MilestoneFix:          at(12, 20),
			postmortem.MilestoneMitigated:    at(45, 0),
			postmortem.MilestoneResolved:     at(67, 0),
		}
		require.Len(t, d.Timeline, len(want))
		for name, when := range want {
			m := milestone(t, d, name)
			require.True(t, m.Recorded, name)
			require.Equal(t, when, m.At, name)
			require.Equal(t, when.Sub(at(0, 0)), m.Offset, name)
		}
		for i := 1; i < len(d.Timeline); i++ {
			require.False(t, d.Timeline[i].At.Before(d.Timeline[i-1].At), "milestones read in time order")
		}
		require.Contains(t, milestone(t, d, postmortem.MilestoneFix).Detail, "Redeploy acme/checkout")
	})

	t.Run("key events", func(t *testing.T) {
		var texts []string
		for i, ev := range d.KeyEvents {
			texts = append(texts, ev.Text)
			if i > 0 {
				require.False(t, ev.At.Before(d.KeyEvents[i-1].At), "in order")
			}
		}
		all := strings.Join(texts, "\n")
		require.NotContains(t, all, "wrong channel", "a pinned message deleted later is left out")
		require.NotContains(t, all, "Status page", "unmarked messages are not key events")
		require.Contains(t, all, "Support confirms customers can pay again.", "/incident note")
		require.Contains(t, all, "Rolling back checkout to 9f8e7d6 now (pinned by Alice Ng)", "mentions become names")
		require.Contains(t, all, "Alice Ng declared INC-42 (P1)")
		require.Contains(t, all, "Alice Ng marked the incident mitigated.", "the bot's emoji prefix is dropped")
		require.Equal(t, "Dev Patel", d.KeyEvents[3].Actor, "a message is attributed to its author by name")
		require.Equal(t, "firebreak", d.KeyEvents[2].Actor)
		require.Len(t, d.KeyEvents, 10)
	})

	t.Run("metrics", func(t *testing.T) {
		m := d.Metrics
		require.Equal(t, 22*time.Minute, m.TimeToAcknowledge)
		require.Equal(t, 45*time.Minute, m.TimeToMitigate)
		require.Equal(t, 67*time.Minute, m.TimeToResolve)
		require.Equal(t, 15*time.Minute, m.AckTarget)
		require.False(t, m.AckWithinTarget, "22 minutes misses the P1 target of 15")
		require.Equal(t, 3, m.UpdatesPosted, "the update after mitigation does not count")
		require.Equal(t, 4, m.UpdatesExpected)
	})

	t.Run("root cause facts", func(t *testing.T) {
		facts := strings.Join(d.RootCause.Facts, "\n")
		require.Contains(t, facts, "13:41 UTC, 24m before the start: deploy for checkout in production")
		require.Contains(t, facts, "(GitHub 1a2b3c4)", "a commit SHA is shortened")
		require.Contains(t, facts, "13:20 UTC, 45m before the start: feature flag change")
		require.NotContains(t, facts, "Bump logging library", "a change outside the hour before the start is not a candidate")
		require.NotContains(t, facts, "dpatel", "a change's author is not named")
		require.Contains(t, facts, "It succeeded at 14:17 UTC, 3m 20s after the request.")
		require.Contains(t, facts, "It failed at 14:18 UTC: LaunchDarkly returned 403.")
		require.Contains(t, facts, "Statuspage reported a failure")
		require.Equal(t, postmortem.RootCausePrompt, d.RootCause.Prompt)
	})

	t.Run("contributing factors", func(t *testing.T) {
		facts := strings.Join(d.ContributingFactors.Facts, "\n")
		require.Contains(t, facts, "acknowledged 22m after it was declared; the P1 target is 15 minutes")
		require.Contains(t, facts, "was never acknowledged", "the backup page")
		require.NotContains(t, facts, "Erin", "the unanswered page's assignee is not named")
		require.Contains(t, facts, "3 status updates were posted while users were affected; the cadence of one every 10m asked for about 4.")
	})

	t.Run("what went well", func(t *testing.T) {
		well := strings.Join(d.WhatWentWell, "\n")
		require.Contains(t, well, "A rollback completed in 3m 20s, under the 5m goal")
		require.Contains(t, well, "Incident Commander was in place")
		require.Contains(t, well, "Recent changes were listed in the channel 4m after the declaration.")
		require.NotContains(t, well, "acknowledged", "a late acknowledgement did not go well")
		require.NotContains(t, well, "cadence", "missed updates did not go well")
	})

	t.Run("action items", func(t *testing.T) {
		require.Len(t, d.ActionItems, 3)
		require.Equal(t, "Dev Patel", d.ActionItems[0].Owner)
		require.False(t, d.ActionItems[0].OwnerNeeded || d.ActionItems[0].DueNeeded)
		require.True(t, d.ActionItems[1].OwnerNeeded)
		require.True(t, d.ActionItems[1].DueNeeded)
		require.False(t, d.ActionItems[2].OwnerNeeded)
		require.True(t, d.ActionItems[2].DueNeeded)
		require.Equal(t, "Run query performance tests in CI for Dev Patel's service", d.ActionItems[2].Text)
		require.Equal(t, in.ActionItems[2], d.ActionItems[2].Item)
	})

	t.Run("participants", func(t *testing.T) {
		var names []string
		for _, p := range d.Participants {
			names = append(names, p.Name)
		}
		require.Equal(t, []string{"Alice Ng", "Bob Martin", "Cara Díaz", "Dev Patel"}, names)
		require.Equal(t, []string{"Incident Commander"}, d.Participants[0].Roles)
		require.Equal(t, []string{"comms lead"}, d.Participants[2].Roles)
		require.Equal(t, 2, d.Participants[1].Messages, "Bob's deleted message does not count")
		require.Equal(t, "Dev Patel", d.MostActive[0].Name)
		require.Equal(t, 11, d.MostActive[0].Messages)
		require.Equal(t, 1, d.Participants[2].Messages, "an edited message counts once")
		require.Equal(t, 19, d.MessageCount)
	})

	t.Run("review notes", func(t *testing.T) {
		require.Equal(t, []postmortem.Finding{{Section: "Root cause", Phrase: "Bob Martin",
			Suggestion: postmortem.BlamelessCheck("x", "Bob Martin", []string{"Bob Martin"})[0].Suggestion}}, d.ReviewNotes)
	})

	t.Run("input is left unchanged", func(t *testing.T) {
		fresh := pmt.Replay()
		require.Equal(t, fresh.Timeline, in.Timeline)
	})
}

func TestCompileMergesMessageVersions(t *testing.T) {
	t.Parallel()
	declared := pmt.Declared()
	msg := func(ts, text string, key bool, when time.Time, with ...func(*incident.MessageData)) incident.TimelineEvent {
		data := incident.MessageData{User: pmt.Dev, TS: ts}
		for _, f := range with {
			f(&data)
		}
		return incident.TimelineEvent{Kind: incident.EventMessage, Actor: pmt.Dev, At: when, Key: key, Text: text, SourceID: ts, Payload: data}
	}
	edited := func(d *incident.MessageData) { d.Edited = true }
	deleted := func(d *incident.MessageData) { d.Deleted = true }
	in := postmortem.Input{
		Incident: &incident.Incident{Number: 1, Title: "x", Severity: incident.P2, Status: incident.StatusInvestigating, DeclaredAt: declared},
		Policy:   incident.DefaultPolicy(), Now: declared.Add(time.Hour), UserNames: pmt.Names(),
		Timeline: []incident.TimelineEvent{
			msg("1.1", "first draft", false, declared.Add(time.Minute)),
			msg("2.2", "pinned then deleted", true, declared.Add(2*time.Minute)),
			msg("1.1", "final text", false, declared.Add(3*time.Minute), edited),
			msg("3.3", "reaction pinned it", true, declared.Add(4*time.Minute)),
			msg("1.1", "", true, declared.Add(5*time.Minute)), // pinned after the edit
			msg("2.2", "", false, declared.Add(6*time.Minute), deleted),
		},
	}
	d := postmortem.Compile(in)
	require.Len(t, d.KeyEvents, 2)
	require.Equal(t, "final text", d.KeyEvents[0].Text, "an edited message shows its latest text")
	require.True(t, d.KeyEvents[0].Edited)
	require.Equal(t, declared.Add(time.Minute), d.KeyEvents[0].At, "at the time it was first posted")
	require.Equal(t, "reaction pinned it", d.KeyEvents[1].Text)
	require.Equal(t, 2, d.MessageCount)
	require.Equal(t, incident.MessageData{User: pmt.Dev, TS: "1.1"}, in.Timeline[0].Payload, "the input's payloads are not modified")
}

func TestCompileEdgeCases(t *testing.T) {
	t.Parallel()
	declared := pmt.Declared()
	base := func() postmortem.Input {
		return postmortem.Input{
			Incident: &incident.Incident{Number: 5, Title: "Queue backlog", Severity: incident.P2, Status: incident.StatusInvestigating,
				DeclaredAt: declared, Description: "Emails to <@U02BOB> &amp; others are delayed"},
			Policy: incident.DefaultPolicy(),
			Now:    declared.Add(50 * time.Minute),
		}
	}

	t.Run("open incident with nothing recorded", func(t *testing.T) {
		d := postmortem.Compile(base())
		require.True(t, d.Open)
		require.Equal(t, 50*time.Minute, d.Duration)
		require.Contains(t, d.Summary, "open for 50m so far (status: Investigating)")
		require.Contains(t, d.Summary, "Emails to a responder & others are delayed", "a mention in the summary names nobody")
		for _, name := range []string{postmortem.MilestoneAcknowledged, postmortem.MilestoneMitigated, postmortem.MilestoneResolved, postmortem.MilestoneFix} {
			require.False(t, milestone(t, d, name).Recorded, name)
		}
		require.Zero(t, d.Metrics.TimeToAcknowledge)
		require.Zero(t, d.Metrics.TimeToResolve)
		require.Equal(t, 3, d.Metrics.UpdatesExpected, "50 minutes at one every 15")
		facts := strings.Join(d.ContributingFactors.Facts, "\n")
		require.Contains(t, facts, "No acknowledgement was recorded.")
		require.Contains(t, facts, "0 status updates were posted")
		require.Contains(t, facts, "Recent changes were never listed")
		require.Contains(t, d.RootCause.Facts[0], "No changes to production were recorded")
		require.Empty(t, d.WhatWentWell)
		require.Empty(t, d.Participants)
	})

	t.Run("ack inside the target and a slow rollback", func(t *testing.T) {
		in := base()
		ack := declared.Add(4 * time.Minute)
		in.Incident.AcknowledgedAt = &ack
		in.Rollbacks = []incident.Rollback{{Status: incident.RollbackSucceeded, Plan: incident.RollbackPlan{Description: "Turn off flag x."},
			CreatedAt: declared.Add(10 * time.Minute), UpdatedAt: declared.Add(19 * time.Minute)}}
		for i := 0; i < 3; i++ {
			in.Updates = append(in.Updates, incident.StatusUpdate{Author: pmt.Alice, PostedAt: declared.Add(time.Duration(i*15+1) * time.Minute)})
		}
		d := postmortem.Compile(in)
		require.True(t, d.Metrics.AckWithinTarget)
		well := strings.Join(d.WhatWentWell, "\n")
		require.Contains(t, well, "acknowledged 4m after it was declared, inside the P2 target of 1 hour")
		require.Contains(t, well, "3 status updates were posted, meeting the cadence")
		require.NotContains(t, well, "rollback")
		require.Contains(t, strings.Join(d.ContributingFactors.Facts, "\n"), "A rollback took 9m from request to success; the goal is under 5m.")
		require.Equal(t, "Alice Ng", func() string {
			in.UserNames = pmt.Names()
			return postmortem.Compile(in).Participants[0].Name
		}(), "a status update's author took part")
	})

	t.Run("an event before the declaration starts the clock", func(t *testing.T) {
		in := base()
		in.Pages = []incident.Page{{Provider: "pagerduty", CreatedAt: declared.Add(-8 * time.Minute)}}
		in.Changes = []incident.ChangeEvent{{Kind: incident.ChangeDeploy, Summary: "deploy", OccurredAt: declared.Add(-65 * time.Minute)}}
		d := postmortem.Compile(in)
		require.Equal(t, declared.Add(-8*time.Minute), d.Started)
		require.Contains(t, milestone(t, d, postmortem.MilestoneStarted).Detail, "before the declaration")
		require.Equal(t, 8*time.Minute, milestone(t, d, postmortem.MilestoneDeclared).Offset)
		require.Contains(t, strings.Join(d.RootCause.Facts, "\n"), "57m before the start", "the change window counts from the start")
	})

	t.Run("blame language in recorded facts is flagged", func(t *testing.T) {
		in := base()
		in.Rollbacks = []incident.Rollback{{Status: incident.RollbackFailed, Detail: "human error in the workflow inputs",
			CreatedAt: declared, UpdatedAt: declared.Add(time.Minute)}}
		d := postmortem.Compile(in)
		require.Len(t, d.ReviewNotes, 1)
		require.Equal(t, "Root cause", d.ReviewNotes[0].Section)
		require.Equal(t, "human error", d.ReviewNotes[0].Phrase)
	})

	t.Run("incident spanning midnight", func(t *testing.T) {
		in := base()
		in.Incident.DeclaredAt = time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC)
		in.Now = in.Incident.DeclaredAt.Add(2 * time.Hour)
		require.True(t, postmortem.Compile(in).MultiDay)
	})

	t.Run("an empty input compiles", func(t *testing.T) {
		d := postmortem.Compile(postmortem.Input{})
		require.Equal(t, "INC-0", d.Key)
		require.Len(t, d.Timeline, 10)
	})

	t.Run("slug falls back to the number", func(t *testing.T) {
		in := base()
		in.Incident.Title = "¡¡¡"
		require.Equal(t, "inc-5", postmortem.Compile(in).Slug)
	})

	t.Run("the UTC date, and the policy's time zone's when it differs", func(t *testing.T) {
		in := base()
		in.Incident.DeclaredAt = time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC)
		in.Policy.Location = time.FixedZone("UTC+2", 2*60*60)
		d := postmortem.Compile(in)
		require.Equal(t, "2026-03-14", d.Day, "the day of the draft's UTC times")
		require.Equal(t, "2026-03-15 01:30 UTC+2", d.LocalDay)
	})
}

// fakeRenderer records what it renders and can fail one template.
type fakeRenderer struct {
	failOn string
	names  []string
}

func (r *fakeRenderer) Render(name string, data any) (string, error) {
	r.names = append(r.names, name)
	if name == r.failOn {
		return "", errors.New("boom")
	}
	d := data.(postmortem.Draft)
	return name + ":" + d.Key, nil
}

func TestDocument(t *testing.T) {
	t.Parallel()
	d := postmortem.Compile(pmt.Replay())
	r := &fakeRenderer{}
	doc, err := postmortem.Document(d, r)
	require.NoError(t, err)
	require.Equal(t, []string{postmortem.MarkdownTemplate, postmortem.ConfluenceTemplate}, r.names)
	require.Equal(t, "postmortem.md.tmpl:INC-42", doc.Markdown)
	require.Equal(t, "postmortem.confluence.tmpl:INC-42", doc.Confluence)
	require.Equal(t, "INC-42", doc.IncidentKey)
	require.Equal(t, d.Title, doc.Title)
	require.Equal(t, "checkout-fails-for-card-payments", doc.Slug)
	require.Equal(t, pmt.Declared(), doc.Date)
	require.Len(t, doc.ActionItems, 3)

	_, err = postmortem.Document(d, &fakeRenderer{failOn: postmortem.ConfluenceTemplate})
	require.ErrorContains(t, err, "postmortem confluence: boom")
}

func TestDraftEscapers(t *testing.T) {
	t.Parallel()
	var d postmortem.Draft
	tests := []struct{ in, x, md string }{
		{"plain", "plain", "plain"},
		{`a & b < c > "d" 'e'`, "a &amp; b &lt; c &gt; &quot;d&quot; &#39;e&#39;", `a & b &lt; c > "d" 'e'`},
		{"bell\x07 and\x00nul", "bell and" + "nul", "bell\x07 and\x00nul"},
		{"two\nlines | pipe", "two\nlines | pipe", `two lines \| pipe`},
		{"emoji 🚀 é", "emoji 🚀 é", "emoji 🚀 é"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.x, d.X(tt.in), tt.in)
		require.Equal(t, tt.md, d.MD(tt.in), tt.in)
	}
}

func TestStatusPageAndCustomerEmailMetrics(t *testing.T) {
	t.Parallel()
	in := pmt.Replay()
	in.Timeline = append(in.Timeline,
		incident.TimelineEvent{IncidentID: in.Incident.ID, Kind: incident.EventComms, Actor: "bot", At: at(0, 5), SourceID: "comms:draft", Text: "Status page draft proposed"},
		incident.TimelineEvent{IncidentID: in.Incident.ID, Kind: incident.EventStatusPage, Actor: "U0ALICE", At: at(3, 0), Key: true,
			SourceID: "statuspage:ack:", Text: "Posted on the status page", Payload: incident.StatusPageData{Kind: "ack", Status: incident.PublicInvestigating}},
		incident.TimelineEvent{IncidentID: in.Incident.ID, Kind: incident.EventComms, Actor: "U0CARA", At: at(32, 0), Key: true,
			SourceID: "comms:email:decision", Text: "Customers were told by e-mail", Payload: incident.CommsStepData{Email: incident.EmailSent}},
	)
	d := postmortem.Compile(in)
	require.True(t, d.Metrics.PublicPosted)
	require.Equal(t, 3*time.Minute, d.Metrics.TimeToFirstPublic)
	require.Equal(t, 10*time.Minute, d.Metrics.PublicTarget)
	require.True(t, d.Metrics.PublicWithinTarget)
	require.Equal(t, at(32, 0), d.Metrics.CustomersEmailed)
	m := milestone(t, d, postmortem.MilestonePublic)
	require.True(t, m.Recorded)
	require.Equal(t, at(3, 0), m.At)
	require.Contains(t, m.Detail, "3m after the declaration (target 10m)")

	// The clock ran but nothing was posted: the target was missed.
	in = pmt.Replay()
	in.Timeline = append(in.Timeline, incident.TimelineEvent{IncidentID: in.Incident.ID, Kind: incident.EventComms, At: at(0, 5), SourceID: "comms:draft"})
	d = postmortem.Compile(in)
	require.False(t, d.Metrics.PublicPosted)
	require.Equal(t, 10*time.Minute, d.Metrics.PublicTarget)
	for _, ms := range d.Timeline {
		require.NotEqual(t, postmortem.MilestonePublic, ms.Name)
	}
}
