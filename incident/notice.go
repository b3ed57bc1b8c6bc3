package incident

import (
	"sort"
	"strings"
)

// NoticeKind says what happened, for the chat to say in its own words.
type NoticeKind string

// Notice kinds. Each documents the Notice fields and Values it carries.
const (
	// NoticeICAssigned: User is now the Incident Commander (nobody was).
	NoticeICAssigned NoticeKind = "ic_assigned"
	// NoticeICHandover: the role passed from Prev to User, by Actor.
	NoticeICHandover NoticeKind = "ic_handover"
	// NoticeICTakeover: User took the role over from Prev after confirming
	// in the channel, without Prev's handover.
	NoticeICTakeover NoticeKind = "ic_takeover"
	// NoticeRoleAssigned: User now holds Values["role"], by Actor.
	NoticeRoleAssigned NoticeKind = "role_assigned"
	// NoticeSeverityChanged: from Values["from"] to Values["to"]
	// (Values["label"] is the new severity's label), raised when
	// Values["raised"] is "true", by Actor.
	NoticeSeverityChanged NoticeKind = "severity_changed"
	// NoticeMitigated: Actor marked the incident mitigated.
	NoticeMitigated NoticeKind = "mitigated"
	// NoticeResolved: Actor resolved it after Values["after"], with the
	// person's Values["summary"] (user text), if any.
	NoticeResolved NoticeKind = "resolved"
	// NoticeClosed: Actor closed it.
	NoticeClosed NoticeKind = "closed"
	// NoticeReopened: Actor reopened it.
	NoticeReopened NoticeKind = "reopened"
	// NoticeStatusSet: Actor set the status to Values["status"].
	NoticeStatusSet NoticeKind = "status_set"
	// NoticeUpdate: a status update by Actor. Values: severity, label,
	// status, known and doing (user text), next ("10 min"), next_at
	// ("14:32:00 UTC"), or next empty for "when there is news".
	NoticeUpdate NoticeKind = "update"
	// NoticeNote: Actor noted Values["text"] (user text) as a key event.
	NoticeNote NoticeKind = "note"
	// NoticeFollowUp: Actor recorded the follow-up Values["text"] (user
	// text), owned by User (or nobody), due Values["due"] (or not yet).
	NoticeFollowUp NoticeKind = "followup"
	// NoticeSnoozed: Actor snoozed the update reminders until
	// Values["until"].
	NoticeSnoozed NoticeKind = "snoozed"

	// NoticeAlertRepeat: the alert Values["title"] (user text) from
	// Values["source"] fired again, Values["count"] times so far.
	NoticeAlertRepeat NoticeKind = "alert_repeat"
	// NoticeAlertRefiring: the alert Values["title"] from Values["source"]
	// that started the incident, resolved before, is firing again.
	NoticeAlertRefiring NoticeKind = "alert_refiring"
	// NoticeAlertResolved: the alert Values["title"] from Values["source"]
	// that started the incident resolved after Values["after"]; when
	// Values["open"] is "true" the incident still runs, and the people are
	// asked to confirm with data before resolving.
	NoticeAlertResolved NoticeKind = "alert_resolved"
	// NoticeAlertProposalResolved: the alert Values["title"] from
	// Values["source"], proposed as a Values["severity"] incident and not
	// decided, resolved after Values["after"].
	NoticeAlertProposalResolved NoticeKind = "alert_proposal_resolved"
	// NoticeAlertStarted: the incident was started by the alert
	// Values["title"] from Values["source"], declared by Actor, or by the
	// policy rule Values["rule"] when Actor is "bot"; Values["url"] links
	// the alert, if it has a link.
	NoticeAlertStarted NoticeKind = "alert_started"
	// NoticeAlertProposal: the alert Values["title"] from Values["source"]
	// looks like a Values["severity"] incident; Values["service"] and
	// Values["label"] name the service and the severity's label,
	// Values["summary"] (user text) and Values["url"] describe the alert.
	// Buttons declare it or dismiss it.
	NoticeAlertProposal NoticeKind = "alert_proposal"

	// NoticeStatusPageDraft: a status page draft for Values["provider"],
	// Values["body"] (user text); customers should hear within
	// Values["within"], by Values["by"]. Buttons publish, edit or decline.
	NoticeStatusPageDraft NoticeKind = "statuspage_draft"
	// NoticeStatusPageNudge: User (the comms lead) is reminded the
	// incident is not on the status page, Values["left"] left of the
	// Values["within"] target.
	NoticeStatusPageNudge NoticeKind = "statuspage_nudge"
	// NoticeStatusPageEscalate: Values["after"] without a status page post
	// (target Values["within"]); User is the IC, Prev or the user group
	// Values["group"] the backup.
	NoticeStatusPageEscalate NoticeKind = "statuspage_escalate"
	// NoticeStatusPageReminder: told to User directly: not on the status
	// page Values["after"] after the declaration; the draft is in the
	// channel Values["channel"].
	NoticeStatusPageReminder NoticeKind = "statuspage_reminder"
	// NoticeStatusPageStale: nothing posted publicly for Values["quiet"];
	// User (the comms lead) is offered Values["body"] (user text).
	NoticeStatusPageStale NoticeKind = "statuspage_stale"
	// NoticeStatusPageOffer: offers to post Values["body"] (user text) as
	// the status page post Values["post"] ("update" or "resolution").
	NoticeStatusPageOffer NoticeKind = "statuspage_offer"
	// NoticeStatusPagePosted: Actor's Values["post"] was posted on
	// Values["provider"] with Values["status"], at Values["url"] (id
	// Values["id"]); Values["first"] is "true" for the first post, made
	// Values["after"] after the declaration.
	NoticeStatusPagePosted NoticeKind = "statuspage_posted"
	// NoticeStatusPageComponents: the components were set to
	// Values["components"].
	NoticeStatusPageComponents NoticeKind = "statuspage_components"
	// NoticeStatusPageFailed: a post on Values["provider"] failed with
	// Values["error"]; Values["retry"] is "background", "gave_up" or
	// "final". A button retries.
	NoticeStatusPageFailed NoticeKind = "statuspage_failed"
	// NoticeNotCustomerFacing: Actor marked the incident not
	// customer-facing.
	NoticeNotCustomerFacing NoticeKind = "not_customer_facing"
	// NoticeCustomerEmail: User (the comms lead) is asked to send
	// Values["body"] (user text), because the incident is open for
	// Values["open_for"], or Values["concern"] is "true" for a data concern.
	NoticeCustomerEmail NoticeKind = "customer_email"
	// NoticeCustomerEmailReminder: told to User directly: the customer
	// e-mail draft is in the channel Values["channel"].
	NoticeCustomerEmailReminder NoticeKind = "customer_email_reminder"
	// NoticeCustomerEmailSent: Actor recorded the e-mail sent at
	// Values["at"].
	NoticeCustomerEmailSent NoticeKind = "customer_email_sent"
	// NoticeCustomerEmailNotNeeded: Actor judged no e-mail needed.
	NoticeCustomerEmailNotNeeded NoticeKind = "customer_email_not_needed"
	// NoticeDataConcern: Actor flagged a customer data concern.
	NoticeDataConcern NoticeKind = "data_concern"

	// NoticePageSimulated: a drill's page to Values["service"] was
	// simulated; Values["backup"] is "true" when the backup would have
	// been paged too.
	NoticePageSimulated NoticeKind = "page_simulated"
	// NoticePaged: Values["service"] (a service name) was paged at
	// PagerDuty, reaching Values["who"] (names, or empty for on-call),
	// the backup too when Values["backup"] is "true"; Values["url"] opens
	// the page. A button acknowledges it.
	NoticePaged NoticeKind = "paged"
	// NoticePageFailed: paging Values["service"] failed with
	// Values["error"]; Values["final"] is "true" when retrying cannot fix
	// it, else it is retried in the background. A button retries.
	NoticePageFailed NoticeKind = "page_failed"
	// NoticePageAcknowledged: the page was acknowledged Values["after"]
	// after it was sent, by User (from Slack), else by Values["agent"] (a
	// name at PagerDuty), else by someone unnamed.
	NoticePageAcknowledged NoticeKind = "page_acknowledged"
	// NoticePageAckRefused: told to User: PagerDuty did not take their
	// acknowledgement, refusing it with Values["error"], or, with no
	// error, their e-mail could not be read to act as them.
	NoticePageAckRefused NoticeKind = "page_ack_refused"
	// NoticePageEvent: PagerDuty reports Values["event"] (a PageEventKind:
	// unacknowledged, escalated, reassigned, resolved, reopened) on the page
	// for Values["service"] (a service key), by Values["agent"], to
	// Values["assignees"] (names, if any).
	NoticePageEvent NoticeKind = "page_event"
	// NoticeRepage: nobody acknowledged the page for Values["service"]
	// within Values["target"]; Values["action"] is "escalated" (to the next
	// level, now paging Values["assignees"] if known) or "paged_again"
	// (with the backup). A button pages again.
	NoticeRepage NoticeKind = "repage"
	// NoticeOnCall: who is on call for Values["service"] now, one
	// NoticeOnCallLevel per person in Items; Values["error"] says why
	// PagerDuty could not be asked.
	NoticeOnCall NoticeKind = "oncall"
	// NoticeOnCallLevel: Values["name"] is on call at level
	// Values["level"] of Values["schedule"], until Values["until"] if set.
	NoticeOnCallLevel NoticeKind = "oncall_level"
	// NoticeNotInvited: not every responder is in the war room. Items
	// name, each as User, those the chat refused to invite, with its
	// reason in Values["code"] ("user_is_restricted"); Values["missing"]
	// lists, one a line, the references that matched nobody (an e-mail
	// address without an account, an empty user group).
	NoticeNotInvited NoticeKind = "not_invited"
	// NoticeMessage: Values["message"] is a message already worded for the
	// chat, said as it is (with the DRILL marker when Drill is set).
	NoticeMessage NoticeKind = "message"

	// NoticeReviewScheduled: the postmortem review is due Values["due"]
	// (Values["days"] business days), owned by User if anyone.
	NoticeReviewScheduled NoticeKind = "review_scheduled"
	// NoticeReviewState: Actor moved the review from Values["from"] to
	// Values["to"].
	NoticeReviewState NoticeKind = "review_state"
	// NoticeReviewReminder: told privately: the review of the incident
	// Values["title"] (user text) is due Values["due"], Values["state"].
	NoticeReviewReminder NoticeKind = "review_reminder"
	// NoticeReviewOverdue: as NoticeReviewReminder, past its due date.
	NoticeReviewOverdue NoticeKind = "review_overdue"
	// NoticeFollowUpDone: the follow-up Values["text"] (user text) was
	// done, closed by Values["by"], at Values["url"] if any.
	NoticeFollowUpDone NoticeKind = "followup_done"
	// NoticeFollowUpDue: told to User, its owner: the follow-up
	// Values["text"] (user text) is due Values["due"].
	NoticeFollowUpDue NoticeKind = "followup_due"
	// NoticeFollowUpOverdue: told to User, its owner: it is overdue.
	NoticeFollowUpOverdue NoticeKind = "followup_overdue"
	// NoticeFollowUpOverdueIC: told to the IC: User's follow-up (or an
	// unowned one) is overdue.
	NoticeFollowUpOverdueIC NoticeKind = "followup_overdue_ic"
	// NoticeFollowUpItem: one follow-up of a list: Values["text"] (user
	// text), owned by User, due Values["due"] (or not), Values["overdue"],
	// tracked at Values["url"]. With Values["private"] "true", Incident is
	// the redacted "Private incident INC-n" and there is no text nor url.
	NoticeFollowUpItem NoticeKind = "followup_item"
	// NoticeFollowUpDigest: the weekly follow-ups of Values["team"] for
	// Values["period"]: Values["open"] open, Values["overdue"] overdue,
	// listed in Items, Values["more"] more not listed.
	NoticeFollowUpDigest NoticeKind = "followup_digest"

	// The rollback notices name what is rolled back with Values["plan"],
	// the provider's description of the plan, and Values["flag"],
	// Values["repo"], Values["environment"] and Values["to"] (the short
	// commit deployed back), as set. Every one of them is provider or user
	// text; Values["url"] links the provider's run, if any.

	// NoticeRollbackRequested: Actor confirmed a rollback; with
	// Values["approval"] "true" it waits for a second person's approval.
	NoticeRollbackRequested NoticeKind = "rollback_requested"
	// NoticeRollbackApproval: User asked for a rollback in
	// Values["environment"] that someone else among Values["who"] (policy
	// references, comma-separated) must approve. A button approves it.
	NoticeRollbackApproval NoticeKind = "rollback_approval"
	// NoticeRollbackApproved: Actor approved the rollback User asked for.
	NoticeRollbackApproved NoticeKind = "rollback_approved"
	// NoticeRollbackRetry: Actor retries a failed rollback; with
	// Values["approval"] "true" the retry waits for a second person.
	NoticeRollbackRetry NoticeKind = "rollback_retry"
	// NoticeRollbackStarted: the rollback runs on behalf of Actor, approved
	// by User if anyone; with Values["dry_run"] "true" a drill's rollback
	// only said what it would have done.
	NoticeRollbackStarted NoticeKind = "rollback_started"
	// NoticeRollbackProgress: the rollback is in progress.
	NoticeRollbackProgress NoticeKind = "rollback_progress"
	// NoticeRollbackSucceeded: the rollback User requested succeeded in
	// Values["after"]; Values["detail"] is the provider's word on it.
	NoticeRollbackSucceeded NoticeKind = "rollback_succeeded"
	// NoticeRollbackFailed: the rollback failed with Values["detail"]
	// (the provider's words). A button retries it.
	NoticeRollbackFailed NoticeKind = "rollback_failed"
	// NoticeRollbackUnfollowed: the bot stopped following the rollback
	// after Values["after"]; it had not finished.
	NoticeRollbackUnfollowed NoticeKind = "rollback_unfollowed"
	// NoticeChangesFailed: told to the person who asked: the list of
	// changes could not be posted, with Values["error"].
	NoticeChangesFailed NoticeKind = "changes_failed"
	// NoticeRollbackRule: who may confirm a rollback in
	// Values["environment"]: Values["who"] (policy references,
	// comma-separated); with Values["approval"] "true" a second person
	// must approve, as Values["severity"] is involved.
	NoticeRollbackRule NoticeKind = "rollback_rule"
)

// UserTextValues are the Values that hold what a person typed; the chat
// escapes them so they show literally.
var UserTextValues = map[string]bool{"summary": true, "known": true, "doing": true, "text": true, "title": true, "body": true,
	"phrase": true, "markdown": true, "notes": true}

// Notice is something that happened in an incident, with who and which
// values, for the chat to render. The domain never words it for a chat.
type Notice struct {
	Kind NoticeKind `json:"kind"`
	// Incident is the incident's key, such as "INC-42".
	Incident string `json:"incident"`
	// Actor is who did it: a user id, or "bot".
	Actor string `json:"actor,omitempty"`
	// User is who it was done to or for; Prev who held a role before.
	User   string            `json:"user,omitempty"`
	Prev   string            `json:"prev,omitempty"`
	Values map[string]string `json:"values,omitempty"`
	// Mirror asks for the notice in the broadcast channel too.
	Mirror bool `json:"mirror,omitempty"`
	// Broadcast marks the copy for the broadcast channel, which names the
	// incident first.
	Broadcast bool `json:"broadcast,omitempty"`
	// Drill marks a notice about a drill, said with the DRILL marker.
	Drill bool `json:"drill,omitempty"`
	// Items are the entries of a list notice, each a notice of its own.
	Items []Notice `json:"items,omitempty"`
	// Buttons are shown under the notice.
	Buttons []Button `json:"buttons,omitempty"`
}

// String is a plain description for logs and for a timeline without a
// chat renderer: the kind, the people by id and the values.
func (n Notice) String() string {
	var b strings.Builder
	b.WriteString(n.Incident + " " + string(n.Kind))
	for _, p := range [][2]string{{"actor", n.Actor}, {"user", n.User}, {"prev", n.Prev}} {
		if p[1] != "" {
			b.WriteString(" " + p[0] + "=" + p[1])
		}
	}
	keys := make([]string, 0, len(n.Values))
	for k := range n.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + k + "=" + n.Values[k])
	}
	return b.String()
}

// Notice kinds of the postmortem.
const (
	// NoticePostmortemDraft: the postmortem draft of the incident
	// Values["title"] (user text), summed up in Values["summary"] (user
	// text); the response metrics Values["metrics"]; the milestones
	// recorded Values["timeline"] and those not recorded Values["missing"];
	// Values["key_events"] key events. Items are the first root-cause facts
	// (NoticePostmortemFact, Values["more_facts"] more in the draft) and
	// the first review notes of the blameless check
	// (NoticePostmortemReviewNote, of Values["review_notes"], Values["more_notes"]
	// more). Values["action_items"] follow-ups, Values["no_owner"] without
	// an owner and Values["no_due"] without a due date; Values["backfill_failed"]
	// is "true" when the channel's history could not be read;
	// Values["replaces"] is "true" when an earlier version of the same draft
	// was only partly posted. The full draft follows in Values["parts"]
	// pieces. Buttons export it.
	NoticePostmortemDraft NoticeKind = "postmortem_draft"
	// NoticePostmortemFact: a root-cause fact, Values["text"] (user text).
	NoticePostmortemFact NoticeKind = "postmortem_fact"
	// NoticePostmortemReviewNote: the blameless check flagged
	// Values["phrase"] (user text) in the section Values["section"].
	NoticePostmortemReviewNote NoticeKind = "postmortem_review_note"
	// NoticePostmortemPart: piece Values["part"] of Values["parts"] of the
	// draft in Markdown, Values["markdown"] (user text).
	NoticePostmortemPart NoticeKind = "postmortem_part"
	// NoticePostmortemExported: Actor's export Values["verb"] ("exported"
	// or "updated") the postmortem in Values["target"] at Values["url"],
	// Values["version"] when past the first.
	NoticePostmortemExported NoticeKind = "postmortem_exported"
	// NoticePostmortemExportFailed: exporting the postmortem to
	// Values["target"] failed with Values["error"]; Values["retry"] is
	// "background" (retrying) or "final" (with a Retry button).
	NoticePostmortemExportFailed NoticeKind = "postmortem_export_failed"
)

// Notice kinds of the update reminders and the response-time check.
const (
	// NoticeNag: the incident has had no status update for
	// Values["silent"]; this is reminder number Values["level"]. User is the
	// IC, or empty when nobody holds the role (who is asked to take it).
	// From the third reminder the backup is called on: the user group
	// Values["group"], else the comms lead Values["backup"], if any.
	NoticeNag NoticeKind = "nag"
	// NoticeNagDirect: told to User, the IC: no status update for
	// Values["silent"]; post one in the channel Values["channel"].
	NoticeNagDirect NoticeKind = "nag_direct"
	// NoticeAckMissed: the incident was not acknowledged within its
	// Values["target"] for Values["severity"] (declared Values["ago"] ago).
	// User is the IC, if any; the backup (Values["group"], else
	// Values["backup"]) is asked to respond. Values["unacknowledged"] pages
	// are still unacknowledged, with a Re-page button each.
	NoticeAckMissed NoticeKind = "ack_missed"
)

// Notice kinds of the resolution check and the declare.
const (
	// NoticeResolutionConfirmed: Actor confirmed the resolution with data:
	// monitors green Values["monitors"], error rate at baseline
	// Values["baseline"], smoke test Values["smoke"] ("yes" or "no"), run by
	// User if anyone, with Values["notes"] (user text).
	NoticeResolutionConfirmed NoticeKind = "resolution_confirmed"
	// NoticeDeclaredFrom: the incident was declared from a message by User
	// in the channel Values["channel"], at Values["url"] if known.
	NoticeDeclaredFrom NoticeKind = "declared_from"
)

// Notice kinds of the declare and the channel.
const (
	// NoticeDeclared: Actor declared the incident at Values["severity"]
	// with the title Values["title"] (user text); Values["drill"] is "true"
	// for a drill. A timeline line.
	NoticeDeclared NoticeKind = "declared"
	// NoticeICNamed: User is the Incident Commander from the declare on,
	// named by Actor. A timeline line.
	NoticeICNamed NoticeKind = "ic_named"
	// NoticeIncidentOpen: the incident's channel Values["channel"] is
	// ready, told to the declarer.
	NoticeIncidentOpen NoticeKind = "incident_open"
	// NoticeTopic: the channel topic: Values["severity"], Values["status"],
	// User as the IC (nobody yet when empty) and Values["title"] (user
	// text), marked when Values["drill"] is "true".
	NoticeTopic NoticeKind = "topic"
)
