package incidenttest

import "github.com/firebreakhq/firebreak/incident"

// StoredEventData is a timeline event's details as a store kept them when
// they were a flat map of strings, and the typed payload they read into.
type StoredEventData struct {
	Kind incident.EventKind
	// Stored is the data column's JSON object, as the map writers wrote it.
	Stored map[string]string
	// Payload is what the row reads into.
	Payload incident.EventData
}

// LegacyEventData lists, for every kind with a payload, details as the map
// writers stored them. A row written before the payloads were typed reads
// into Payload, and Payload is stored as Stored less its empty values.
func LegacyEventData() []StoredEventData {
	return []StoredEventData{
		{incident.EventStatusChanged, map[string]string{"from": "declared", "to": "mitigated"},
			incident.StatusChangedData{From: incident.StatusDeclared, To: incident.StatusMitigated}},
		{incident.EventSeverityChanged, map[string]string{"from": "P3", "to": "P1"},
			incident.SeverityChangedData{From: incident.P3, To: incident.P1}},
		{incident.EventRoleAssigned, map[string]string{"role": "commander", "user": "U0JANE", "takeover": "confirmed"},
			incident.RoleAssignedData{Role: incident.RoleCommander, User: "U0JANE", Takeover: incident.TakeoverConfirmed}},
		{incident.EventUpdatePosted, map[string]string{"status": "investigating"},
			incident.UpdatePostedData{Status: incident.StatusInvestigating}},
		{incident.EventPaged, map[string]string{"service": "checkout", "page": "INC-7-checkout-2", "repage": "2"},
			incident.PagedData{Service: "checkout", Page: "INC-7-checkout-2", Repage: 2}},
		{incident.EventPaged, map[string]string{"service": "checkout", "simulated": "true"},
			incident.PagedData{Service: "checkout", Simulated: true}},
		{incident.EventPaged, map[string]string{"page": "INC-7-checkout", "event": "escalated"},
			incident.PagedData{Page: "INC-7-checkout", Event: incident.PageEscalated}},
		{incident.EventAcknowledged, map[string]string{"page": "INC-7-checkout", "by": "<@U0BOB>"},
			incident.AcknowledgedData{Page: "INC-7-checkout", By: "<@U0BOB>"}},
		{incident.EventChangesShown, map[string]string{"changes": "4", "highlighted": "1", "failed_sources": "0", "window": "2h0m0s"},
			incident.ChangesShownData{Changes: 4, Highlighted: 1, Window: "2h0m0s"}},
		{incident.EventRollback, map[string]string{"key": "rb-1", "step": "started", "round": "1", "kind": "deploy", "source": "github", "dry_run": "true"},
			incident.RollbackData{Key: "rb-1", Step: "started", Round: 1, Kind: incident.ChangeDeploy, Source: "github", DryRun: true}},
		{incident.EventNote, map[string]string{"channel": "C0OPS", "ts": "1700000000.000100", "author": "U0BOB", "permalink": "https://x.slack.com/p1"},
			incident.NoteData{Channel: "C0OPS", TS: "1700000000.000100", Author: "U0BOB", Permalink: "https://x.slack.com/p1"}},
		{incident.EventNote, map[string]string{"action_item": "12"},
			incident.NoteData{ActionItem: 12}},
		{incident.EventMessage, map[string]string{"user": "U0BOB", "ts": "1700000000.000200", "thread_ts": "1700000000.000100", "edited": "true",
			"deleted": "true", "backfilled": "true", "marked": "pin", "marked_by": "U0ALICE"},
			incident.MessageData{User: "U0BOB", TS: "1700000000.000200", ThreadTS: "1700000000.000100", Edited: true, Deleted: true,
				Backfilled: true, Marked: "pin", MarkedBy: "U0ALICE"}},
		{incident.EventMessage, map[string]string{"app": "PagerDuty", "ts": "1700000000.000300"},
			incident.MessageData{App: "PagerDuty", TS: "1700000000.000300"}},
		{incident.EventMessage, map[string]string{"ts": "1700000000.000400", "placeholder": "true", "marked": "reaction", "marked_by": "U0ALICE"},
			incident.MessageData{TS: "1700000000.000400", Placeholder: true, Marked: "reaction", MarkedBy: "U0ALICE"}},
		{incident.EventProviderFailure, map[string]string{"kind": "update", "ref": "3", "body": "We are investigating."},
			incident.ProviderFailureData{Kind: "update", Ref: "3", Body: "We are investigating."}},
		{incident.EventStatusPage, map[string]string{"kind": "update", "provider": "statuspage", "public_id": "p1", "url": "https://status.example.com/p1",
			"status": "identified", "components": "partial_outage"},
			incident.StatusPageData{Kind: "update", Provider: "statuspage", PublicID: "p1", URL: "https://status.example.com/p1",
				Status: incident.PublicIdentified, Components: incident.ComponentStatus("partial_outage")}},
		{incident.EventComms, map[string]string{"email": "not_needed"},
			incident.CommsStepData{Email: incident.EmailNotNeeded}},
		{incident.EventAlert, map[string]string{"alert": "5", "status": "firing", "count": "3"},
			incident.AlertData{Alert: 5, Status: incident.AlertFiring, Count: 3}},
		{incident.EventAlert, map[string]string{"alert": "6", "status": "resolved", "url": "https://grafana.example.com/a/6"},
			incident.AlertData{Alert: 6, Status: incident.AlertResolved, URL: "https://grafana.example.com/a/6"}},
		{incident.EventResolutionCheck, map[string]string{"monitors_green": "yes", "error_rate_baseline": "no", "smoke_tested": "yes",
			"smoke_tester": "U0BOB", "notes": ""},
			incident.ResolutionCheckData{MonitorsGreen: true, SmokeTested: true, SmokeTester: "U0BOB"}},
		{incident.EventReview, map[string]string{"state": "draft", "due": "2026-03-21"},
			incident.ReviewData{State: incident.ReviewDraft, Due: "2026-03-21"}},
		{incident.EventReview, map[string]string{"from": "draft", "state": "in_review"},
			incident.ReviewData{From: incident.ReviewDraft, State: incident.ReviewInReview}},
		{incident.EventAckMissed, map[string]string{"job": "812"}, incident.AckMissedData{Job: 812}},
	}
}
