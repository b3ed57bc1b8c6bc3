package bot_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// hostile is user text that would ping, link or break mrkdwn if posted raw.
const hostile = "<!channel> p99 > 2s & <@U0EVIL> <https://evil.example|click>"

// hostileTyped is hostile typed in a form or sent to the API: update words
// are stored as Slack stores typed text (ADR 0056).
var hostileTyped = incident.EscapeText(hostile)

// noticeSamples is one notice of every kind, with user text that must show
// literally.
func noticeSamples() map[string]incident.Notice {
	k := "INC-42"
	return map[string]incident.Notice{
		"ic_assigned":      {Kind: incident.NoticeICAssigned, Incident: k, Actor: "U0JANE", User: "U0JANE"},
		"ic_handover":      {Kind: incident.NoticeICHandover, Incident: k, Actor: "U0JANE", User: "U0BOB", Prev: "U0JANE"},
		"ic_takeover":      {Kind: incident.NoticeICTakeover, Incident: k, Actor: "U0BOB", User: "U0BOB", Prev: "U0JANE"},
		"role_assigned":    {Kind: incident.NoticeRoleAssigned, Incident: k, Actor: "U0JANE", User: "U0CARA", Values: map[string]string{"role": "comms"}},
		"severity_raised":  {Kind: incident.NoticeSeverityChanged, Incident: k, Actor: "U0JANE", Mirror: true, Values: map[string]string{"from": "P2", "to": "P1", "label": "critical", "raised": "true"}},
		"severity_lowered": {Kind: incident.NoticeSeverityChanged, Incident: k, Actor: "U0JANE", Values: map[string]string{"from": "P1", "to": "P3", "label": "medium", "raised": "false"}},
		"mitigated":        {Kind: incident.NoticeMitigated, Incident: k, Actor: "U0JANE"},
		"resolved":         {Kind: incident.NoticeResolved, Incident: k, Actor: "U0JANE", Values: map[string]string{"after": "1h02m", "summary": hostile + "\nrolled back"}},
		"closed":           {Kind: incident.NoticeClosed, Incident: k, Actor: "U0JANE"},
		"reopened":         {Kind: incident.NoticeReopened, Incident: k, Actor: "U0JANE"},
		"status_set":       {Kind: incident.NoticeStatusSet, Incident: k, Actor: "U0JANE", Values: map[string]string{"status": "Investigating"}},
		"update": {Kind: incident.NoticeUpdate, Incident: k, Actor: "U0JANE", Values: map[string]string{"severity": "P1", "label": "critical",
			"status": "Investigating", "known": hostileTyped, "doing": "rolling back the 14:02 deploy", "next": "10 min", "next_at": "14:42:00 UTC"}},
		"update_no_cadence": {Kind: incident.NoticeUpdate, Incident: k, Actor: "U0JANE", Values: map[string]string{"severity": "P3", "label": "medium",
			"status": "Mitigated", "known": "fixed"}},
		"update_broadcast": {Kind: incident.NoticeUpdate, Incident: k, Actor: "U0JANE", Broadcast: true, Values: map[string]string{"severity": "P1", "label": "critical",
			"status": "Investigating", "known": hostileTyped, "next": "10 min", "next_at": "14:42:00 UTC"}},
		"update_drill_broadcast": {Kind: incident.NoticeUpdate, Incident: k, Actor: "U0JANE", Broadcast: true, Drill: true, Values: map[string]string{"severity": "P1",
			"label": "critical", "status": "Investigating", "known": "practice"}},
		"note":                  {Kind: incident.NoticeNote, Incident: k, Actor: "U0JANE", Values: map[string]string{"text": hostile}},
		"followup":              {Kind: incident.NoticeFollowUp, Incident: k, Actor: "U0JANE", User: "U0BOB", Values: map[string]string{"text": hostile, "due": "2026-03-21"}},
		"followup_no_owner":     {Kind: incident.NoticeFollowUp, Incident: k, Actor: "bot", Values: map[string]string{"text": "add an alert"}},
		"snoozed":               {Kind: incident.NoticeSnoozed, Incident: k, Actor: "U0JANE", Values: map[string]string{"until": "15:04 UTC"}},
		"alert_repeat":          {Kind: incident.NoticeAlertRepeat, Incident: k, Actor: "datadog", Values: map[string]string{"title": hostile, "source": "Datadog", "count": "3"}},
		"alert_refiring":        {Kind: incident.NoticeAlertRefiring, Incident: k, Actor: "datadog", Values: map[string]string{"title": hostile, "source": "Datadog"}},
		"alert_resolved":        {Kind: incident.NoticeAlertResolved, Incident: k, Actor: "datadog", Values: map[string]string{"title": hostile, "source": "Datadog", "after": "12 min", "open": "true"}},
		"alert_resolved_closed": {Kind: incident.NoticeAlertResolved, Incident: k, Actor: "datadog", Values: map[string]string{"title": "p99", "source": "Datadog", "after": "1 h", "open": "false"}},
		"alert_started":         {Kind: incident.NoticeAlertStarted, Incident: k, Actor: "U0JANE", Values: map[string]string{"title": hostile, "source": "PagerDuty", "url": "https://pd.example/i/1"}},
		"alert_started_auto":    {Kind: incident.NoticeAlertStarted, Incident: k, Actor: "bot", Values: map[string]string{"title": "p99", "source": "Datadog", "rule": "checkout-p1"}},
		"alert_proposal": {Kind: incident.NoticeAlertProposal, Actor: "datadog", Buttons: []incident.Button{{Action: incident.ActionAlertDeclare, Text: "Declare P1", Value: "7"}},
			Values: map[string]string{"severity": "P1", "title": hostile, "source": "Datadog", "service": "Checkout", "label": "critical", "summary": hostile + "\nsecond line", "url": "https://dd.example/m/1"}},
		"statuspage_draft": {Kind: incident.NoticeStatusPageDraft, Incident: k, Actor: "bot", Values: map[string]string{"provider": "Statuspage", "within": "15 minutes", "by": "14:32 UTC", "body": hostile},
			Buttons: []incident.Button{{Action: incident.ActionStatusPagePublish, Text: "Publish", Value: "1|acknowledge|"}}},
		"statuspage_nudge":            {Kind: incident.NoticeStatusPageNudge, Incident: k, Actor: "bot", User: "U0CARA", Values: map[string]string{"left": "5 minutes", "within": "15 minutes"}},
		"statuspage_escalate":         {Kind: incident.NoticeStatusPageEscalate, Incident: k, Actor: "bot", User: "U0JANE", Prev: "U0CARA", Values: map[string]string{"after": "16 minutes", "within": "15 minutes"}},
		"statuspage_escalate_group":   {Kind: incident.NoticeStatusPageEscalate, Incident: k, Actor: "bot", User: "U0JANE", Values: map[string]string{"after": "16 minutes", "group": "S0ICS"}},
		"statuspage_reminder":         {Kind: incident.NoticeStatusPageReminder, Incident: k, Actor: "bot", User: "U0CARA", Values: map[string]string{"after": "10 min", "channel": "C0INC"}},
		"statuspage_stale":            {Kind: incident.NoticeStatusPageStale, Incident: k, Actor: "bot", User: "U0CARA", Values: map[string]string{"quiet": "30 minutes", "body": hostile}},
		"statuspage_offer":            {Kind: incident.NoticeStatusPageOffer, Incident: k, Actor: "bot", Values: map[string]string{"post": "update", "body": hostile}},
		"statuspage_offer_resolution": {Kind: incident.NoticeStatusPageOffer, Incident: k, Actor: "bot", Values: map[string]string{"post": "resolution", "body": "Fixed."}},
		"statuspage_posted_first": {Kind: incident.NoticeStatusPagePosted, Incident: k, Actor: "U0CARA", Values: map[string]string{"post": "acknowledge", "provider": "Statuspage", "status": "investigating",
			"url": "https://status.example/incidents/abc", "id": "abc", "first": "true", "after": "9 min"}},
		"statuspage_posted_resolution": {Kind: incident.NoticeStatusPagePosted, Incident: k, Actor: "bot", Values: map[string]string{"post": "resolution", "provider": "Statuspage", "status": "resolved", "id": "abc"}},
		"statuspage_components":        {Kind: incident.NoticeStatusPageComponents, Incident: k, Actor: "bot", Values: map[string]string{"components": "partial outage"}},
		"statuspage_failed":            {Kind: incident.NoticeStatusPageFailed, Incident: k, Actor: "statuspage", Values: map[string]string{"provider": "Statuspage", "error": "Statuspage refused: <b>", "retry": "final"}},
		"statuspage_failed_retrying":   {Kind: incident.NoticeStatusPageFailed, Incident: k, Actor: "statuspage", Values: map[string]string{"provider": "Statuspage", "error": "timeout", "retry": "background"}},
		"not_customer_facing":          {Kind: incident.NoticeNotCustomerFacing, Incident: k, Actor: "U0CARA"},
		"customer_email":               {Kind: incident.NoticeCustomerEmail, Incident: k, Actor: "bot", User: "U0CARA", Values: map[string]string{"open_for": "60 minutes", "concern": "false", "body": hostile}},
		"customer_email_concern":       {Kind: incident.NoticeCustomerEmail, Incident: k, Actor: "bot", User: "U0CARA", Values: map[string]string{"concern": "true", "body": "Dear customer"}},
		"customer_email_reminder":      {Kind: incident.NoticeCustomerEmailReminder, Incident: k, Actor: "bot", User: "U0CARA", Drill: true, Values: map[string]string{"channel": "C0INC"}},
		"customer_email_sent":          {Kind: incident.NoticeCustomerEmailSent, Incident: k, Actor: "U0CARA", Values: map[string]string{"at": "14:50 UTC"}},
		"customer_email_not_needed":    {Kind: incident.NoticeCustomerEmailNotNeeded, Incident: k, Actor: "U0CARA"},
		"data_concern":                 {Kind: incident.NoticeDataConcern, Incident: k, Actor: "U0CARA"},
		"page_simulated":               {Kind: incident.NoticePageSimulated, Incident: k, Actor: "bot", Drill: true, Values: map[string]string{"service": "Checkout (drill test service)", "backup": "true"}},
		"paged": {Kind: incident.NoticePaged, Incident: k, Actor: "U0JANE", Values: map[string]string{"service": "Checkout", "who": hostile, "backup": "true",
			"url": "https://acme.pagerduty.com/incidents/Q1"}, Buttons: []incident.Button{{Action: incident.ActionAckPage, Text: "Acknowledge", Value: "firebreak-42-checkout"}}},
		"paged_oncall":              {Kind: incident.NoticePaged, Incident: k, Actor: "bot", Values: map[string]string{"service": "Checkout", "backup": "false"}},
		"page_failed":               {Kind: incident.NoticePageFailed, Incident: k, Actor: "pagerduty", Values: map[string]string{"service": "Checkout", "error": "No PagerDuty service <PXXX>.", "final": "true"}},
		"page_failed_retrying":      {Kind: incident.NoticePageFailed, Incident: k, Actor: "pagerduty", Values: map[string]string{"service": "Checkout", "error": "timeout", "final": "false"}},
		"page_acknowledged":         {Kind: incident.NoticePageAcknowledged, Incident: k, Actor: "U0KIM", User: "U0KIM", Values: map[string]string{"after": "3m12s"}},
		"page_acknowledged_agent":   {Kind: incident.NoticePageAcknowledged, Incident: k, Actor: "bot", Values: map[string]string{"agent": hostile, "after": "3m12s"}},
		"page_acknowledged_nobody":  {Kind: incident.NoticePageAcknowledged, Incident: k, Actor: "bot", Values: map[string]string{"after": "1h02m"}},
		"page_ack_refused":          {Kind: incident.NoticePageAckRefused, User: "U0KIM", Values: map[string]string{"error": "No PagerDuty user <kim@example.com>."}},
		"page_ack_no_email":         {Kind: incident.NoticePageAckRefused, User: "U0KIM"},
		"page_ack_resolved":         {Kind: incident.NoticePageAckRefused, User: "U0KIM", Values: map[string]string{"resolved": "true", "service": hostile}},
		"page_event_unacknowledged": {Kind: incident.NoticePageEvent, Incident: k, Actor: "pagerduty", Values: map[string]string{"event": "unacknowledged", "service": "checkout", "agent": "PagerDuty"}},
		"page_event_escalated": {Kind: incident.NoticePageEvent, Incident: k, Actor: "pagerduty", Values: map[string]string{"event": "escalated", "service": "checkout", "agent": "PagerDuty",
			"assignees": hostile}},
		"page_event_reassigned": {Kind: incident.NoticePageEvent, Incident: k, Actor: "pagerduty", Values: map[string]string{"event": "reassigned", "service": "checkout", "agent": hostile,
			"assignees": "Carol, Dave"}},
		"page_event_resolved": {Kind: incident.NoticePageEvent, Incident: k, Actor: "pagerduty", Values: map[string]string{"event": "resolved", "service": "checkout", "agent": "Jane Doe"}},
		"page_event_reopened": {Kind: incident.NoticePageEvent, Incident: k, Actor: "pagerduty", Values: map[string]string{"event": "reopened", "service": "checkout", "agent": "Jane Doe"}},
		"repage_escalated": {Kind: incident.NoticeRepage, Incident: k, Actor: "bot", Values: map[string]string{"service": "Checkout", "target": "15 minutes", "action": "escalated", "assignees": hostile},
			Buttons: []incident.Button{{Action: incident.ActionRepage, Text: "Re-page checkout", Value: "42|checkout", Style: "danger"}}},
		"repage_again": {Kind: incident.NoticeRepage, Incident: k, Actor: "bot", Values: map[string]string{"service": "Checkout", "target": "1 hour", "action": "paged_again"}},
		"oncall": {Kind: incident.NoticeOnCall, Values: map[string]string{"service": "Checkout"}, Items: []incident.Notice{
			{Kind: incident.NoticeOnCallLevel, Values: map[string]string{"level": "1", "name": hostile, "schedule": "Primary", "until": "Mon 18:00 UTC"}},
			{Kind: incident.NoticeOnCallLevel, Values: map[string]string{"level": "2", "name": "Carol Roe", "schedule": "Secondary"}},
		}},
		"oncall_nobody":       {Kind: incident.NoticeOnCall, Values: map[string]string{"service": "Checkout"}},
		"oncall_failed":       {Kind: incident.NoticeOnCall, Values: map[string]string{"service": "Checkout", "error": "PagerDuty is not responding <503>."}},
		"oncall_level":        {Kind: incident.NoticeOnCallLevel, Values: map[string]string{"level": "1", "name": "Bob Roe", "schedule": "Primary"}},
		"message":             {Kind: incident.NoticeMessage, Incident: k, Drill: true, Values: map[string]string{"message": "INC-42 is open: <#C0INC>"}},
		"review_scheduled":    {Kind: incident.NoticeReviewScheduled, Incident: k, Actor: "bot", User: "U0JANE", Values: map[string]string{"due": "Fri 20 Mar 2026", "days": "5"}},
		"review_state":        {Kind: incident.NoticeReviewState, Incident: k, Actor: "U0JANE", Values: map[string]string{"from": "draft", "to": "in review"}},
		"review_reminder":     {Kind: incident.NoticeReviewReminder, Incident: k, Actor: "bot", Values: map[string]string{"title": hostile, "due": "Fri 20 Mar", "state": "draft"}},
		"review_overdue":      {Kind: incident.NoticeReviewOverdue, Incident: k, Actor: "bot", Drill: true, Values: map[string]string{"title": "p99", "due": "Fri 20 Mar", "state": "in review"}},
		"followup_done":       {Kind: incident.NoticeFollowUpDone, Incident: k, Values: map[string]string{"by": "jira", "text": hostile, "url": "https://jira.example/browse/OPS-1"}},
		"followup_due":        {Kind: incident.NoticeFollowUpDue, Incident: k, Actor: "bot", User: "U0BOB", Values: map[string]string{"due": "Fri 20 Mar", "text": hostile}},
		"followup_overdue":    {Kind: incident.NoticeFollowUpOverdue, Incident: k, Actor: "bot", User: "U0BOB", Values: map[string]string{"due": "Fri 20 Mar", "text": "add an alert"}},
		"followup_overdue_ic": {Kind: incident.NoticeFollowUpOverdueIC, Incident: k, Actor: "bot", Values: map[string]string{"due": "Fri 20 Mar", "text": "add an alert"}},
		"followup_digest": {Kind: incident.NoticeFollowUpDigest, Actor: "bot", Values: map[string]string{"team": "payments", "period": "2026-W12", "open": "2", "overdue": "1", "more": "3"},
			Items: []incident.Notice{
				{Kind: incident.NoticeFollowUpItem, Incident: k, User: "U0BOB", Values: map[string]string{"text": hostile, "due": "Fri 20 Mar", "overdue": "true"}},
				{Kind: incident.NoticeFollowUpItem, Incident: "INC-43", Values: map[string]string{"text": "add an alert", "overdue": "false", "url": "https://jira.example/browse/OPS-2"}},
			}},
		"followup_digest_empty": {Kind: incident.NoticeFollowUpDigest, Actor: "bot", Values: map[string]string{"team": "all teams", "period": "2026-W12", "open": "0", "overdue": "0"}},
		"followup_item":         {Kind: incident.NoticeFollowUpItem, Incident: k, User: "U0BOB", Values: map[string]string{"text": hostile, "due": "Fri 20 Mar", "overdue": "false"}},
		"unknown_kind":          {Kind: "future_kind", Incident: k, Actor: "U0JANE", Values: map[string]string{"text": hostile}},
		"rollback_requested":    {Kind: incident.NoticeRollbackRequested, Incident: k, Actor: "U0JANE", Values: map[string]string{"plan": "Turn off flag " + hostile + " in default/production."}},
		"rollback_requested_approval": {Kind: incident.NoticeRollbackRequested, Incident: k, Actor: "U0JANE",
			Values: map[string]string{"plan": "Redeploy acme/checkout to production at 0ld5afe (from bad0c0f).", "approval": "true"}},
		"rollback_approval": {Kind: incident.NoticeRollbackApproval, Incident: k, Actor: "U0JANE", User: "U0JANE",
			Values:  map[string]string{"plan": "Turn off flag " + hostile + ".", "environment": "production", "who": "S0CHECKOUT,U0BOB,ops@example.com"},
			Buttons: []incident.Button{{Action: incident.ActionApproveRol, Text: "Approve rollback", Value: "flag:ld-1", Style: "danger"}}},
		"rollback_approved": {Kind: incident.NoticeRollbackApproved, Incident: k, Actor: "U0BOB", User: "U0JANE", Values: map[string]string{"plan": hostile}},
		"rollback_retry":    {Kind: incident.NoticeRollbackRetry, Incident: k, Actor: "U0BOB", Values: map[string]string{"plan": hostile}},
		"rollback_retry_approval": {Kind: incident.NoticeRollbackRetry, Incident: k, Actor: "U0BOB",
			Values: map[string]string{"plan": "Redeploy acme/checkout.", "approval": "true"}},
		"rollback_started": {Kind: incident.NoticeRollbackStarted, Incident: k, Actor: "U0JANE", User: "U0BOB",
			Values: map[string]string{"plan": "Redeploy acme/checkout to production at 0ld5afe (from bad0c0f).", "url": "https://github.com/acme/checkout/actions/runs/1"}},
		"rollback_dry_run": {Kind: incident.NoticeRollbackStarted, Incident: k, Actor: "U0JANE", Drill: true, Values: map[string]string{"plan": hostile, "dry_run": "true"}},
		"rollback_progress": {Kind: incident.NoticeRollbackProgress, Incident: k, Actor: "github",
			Values: map[string]string{"plan": "Redeploy.", "repo": "acme/checkout", "environment": "production", "to": "0ld5afe", "url": "https://github.com/acme/checkout/deployments"}},
		"rollback_succeeded": {Kind: incident.NoticeRollbackSucceeded, Incident: k, Actor: "launchdarkly", User: "U0JANE",
			Values: map[string]string{"plan": "Turn off.", "flag": hostile, "environment": "production", "after": "12s", "detail": "Done: " + hostile}},
		"rollback_failed": {Kind: incident.NoticeRollbackFailed, Incident: k, Actor: "github",
			Values:  map[string]string{"plan": "Redeploy.", "repo": "acme/checkout", "environment": "production", "to": "0ld5afe", "detail": hostile, "url": "https://example.com/runs/1|<!here>"},
			Buttons: []incident.Button{{Action: incident.ActionRetryRoll, Text: "Retry rollback", Value: "deploy:1", Style: "danger"}}},
		"rollback_failed_no_detail": {Kind: incident.NoticeRollbackFailed, Incident: k, Actor: "webhook", Values: map[string]string{"plan": hostile + "."}},
		"rollback_unfollowed": {Kind: incident.NoticeRollbackUnfollowed, Incident: k, Actor: "bot",
			Values: map[string]string{"plan": "Redeploy.", "repo": "acme/checkout", "environment": "production", "to": "0ld5afe", "after": "10m0s", "url": "https://example.com/runs/1"}},
		"rollback_rule": {Kind: incident.NoticeRollbackRule, Incident: k,
			Values: map[string]string{"who": "S0CHECKOUT,S0ROLL", "environment": "production", "severity": "P1", "approval": "true"}},
		"changes_failed": {Kind: incident.NoticeChangesFailed, Incident: k, Actor: "bot", Values: map[string]string{"error": "Slack said " + hostile}},
		"not_invited": {Kind: incident.NoticeNotInvited, Incident: k, Actor: "bot", Values: map[string]string{"missing": "gone@example.com\n" + hostile},
			Items: []incident.Notice{
				{Kind: incident.NoticeNotInvited, Incident: k, User: "U0GUEST", Values: map[string]string{"code": "user_is_restricted"}},
				{Kind: incident.NoticeNotInvited, Incident: k, User: "U0OTHER", Values: map[string]string{"code": hostile}},
			}},
		"rollback_rule_nobody": {Kind: incident.NoticeRollbackRule, Incident: k, Values: map[string]string{"who": "", "environment": "", "severity": "P3"}},
	}
}

// TestNoticeGolden pins the Slack wording of every notice; -update rewrites
// testdata/notices/*.golden.
func TestNoticeGolden(t *testing.T) {
	t.Parallel()
	for name, n := range noticeSamples() {
		got := bot.NoticeText(n)
		path := filepath.Join("testdata", "notices", name+".golden")
		incidenttest.Golden(t, path, []byte(got+"\n"))

		// User text never reaches Slack raw.
		require.NotContains(t, got, "<!channel>", name)
		require.NotContains(t, got, "<@U0EVIL>", name)
		require.NotContains(t, got, "<https://evil", name)
		require.NotContains(t, got, "&amp;gt;", name)
		if strings.Contains(bot.TimelineText(n), hostile) || strings.Contains(bot.TimelineText(n), hostileTyped) {
			require.Contains(t, got, "&lt;!channel&gt; p99 &gt; 2s &amp; &lt;@U0EVIL&gt;", name)
		}
	}
}

func TestEveryNoticeKindIsWorded(t *testing.T) {
	t.Parallel()
	worded := map[incident.NoticeKind]bool{}
	for _, n := range noticeSamples() {
		if bot.NoticeText(n) != bot.Escape(n.String()) {
			worded[n.Kind] = true
		}
	}
	for _, k := range []incident.NoticeKind{incident.NoticeICAssigned, incident.NoticeICHandover, incident.NoticeICTakeover,
		incident.NoticeRoleAssigned, incident.NoticeSeverityChanged, incident.NoticeMitigated, incident.NoticeResolved,
		incident.NoticeClosed, incident.NoticeReopened, incident.NoticeStatusSet, incident.NoticeUpdate, incident.NoticeNote,
		incident.NoticeFollowUp, incident.NoticeSnoozed, incident.NoticeAlertRepeat, incident.NoticeAlertRefiring,
		incident.NoticeAlertResolved, incident.NoticeAlertStarted, incident.NoticeAlertProposal, incident.NoticeStatusPageDraft,
		incident.NoticeStatusPageNudge, incident.NoticeStatusPageEscalate, incident.NoticeStatusPageReminder, incident.NoticeStatusPageStale,
		incident.NoticeStatusPageOffer, incident.NoticeStatusPagePosted, incident.NoticeStatusPageComponents, incident.NoticeStatusPageFailed,
		incident.NoticeNotCustomerFacing, incident.NoticeCustomerEmail, incident.NoticeCustomerEmailReminder, incident.NoticeCustomerEmailSent,
		incident.NoticeCustomerEmailNotNeeded, incident.NoticeDataConcern, incident.NoticePageSimulated, incident.NoticeMessage,
		incident.NoticePaged, incident.NoticePageFailed, incident.NoticePageAcknowledged, incident.NoticePageAckRefused,
		incident.NoticePageEvent, incident.NoticeRepage, incident.NoticeOnCall, incident.NoticeOnCallLevel,
		incident.NoticeReviewScheduled, incident.NoticeReviewState, incident.NoticeReviewReminder, incident.NoticeReviewOverdue,
		incident.NoticeFollowUpDone, incident.NoticeFollowUpDue, incident.NoticeFollowUpOverdue, incident.NoticeFollowUpOverdueIC,
		incident.NoticeFollowUpItem, incident.NoticeFollowUpDigest, incident.NoticeRollbackRequested, incident.NoticeRollbackApproval,
		incident.NoticeRollbackApproved, incident.NoticeRollbackRetry, incident.NoticeRollbackStarted, incident.NoticeRollbackProgress,
		incident.NoticeRollbackSucceeded, incident.NoticeRollbackFailed, incident.NoticeRollbackUnfollowed, incident.NoticeRollbackRule,
		incident.NoticeChangesFailed} {
		require.True(t, worded[k], "%s has its own wording", k)
	}
}

// A flag, a plan and a provider's detail come from outside: a flag named
// <!channel> is shown literally in every rollback line and notifies nobody.
func TestRollbackNoticesShowAFlagNamedChannelLiterally(t *testing.T) {
	t.Parallel()
	const flag = "<!channel>"
	values := map[string]string{"plan": "Turn off flag " + flag + " in default/production.", "flag": flag, "environment": "production",
		"detail": "flag " + flag + " is off", "after": "3s", "who": "S0ROLL"}
	for _, kind := range []incident.NoticeKind{incident.NoticeRollbackRequested, incident.NoticeRollbackApproval, incident.NoticeRollbackApproved,
		incident.NoticeRollbackRetry, incident.NoticeRollbackStarted, incident.NoticeRollbackProgress, incident.NoticeRollbackSucceeded,
		incident.NoticeRollbackFailed, incident.NoticeRollbackUnfollowed} {
		got := bot.NoticeText(incident.Notice{Kind: kind, Incident: "INC-42", Actor: "U0JANE", User: "U0BOB", Values: values})
		require.NotContains(t, got, "<!channel>", kind)
		require.Contains(t, got, "&lt;!channel&gt;", kind)
		require.Contains(t, bot.TimelineText(incident.Notice{Kind: kind, Incident: "INC-42", Values: values}), "<!channel>", "the timeline keeps it as named")
	}
}
