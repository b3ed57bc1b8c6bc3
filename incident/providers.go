package incident

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Pager pages on-call responders (PagerDuty). Implementations are
// idempotent on PageRequest.DedupKey: a retried Page never pages twice.
type Pager interface {
	// Page opens a page for the incident on the service and returns it,
	// with StatusAt when the provider times it. A page that already
	// exists for the DedupKey is returned as is.
	Page(ctx context.Context, req PageRequest) (*Page, error)
	// Acknowledge acknowledges a page as the person with this e-mail and
	// returns when, by the provider's clock, the page's status last
	// changed as the provider answered (zero when its answer says not).
	// ENOTFOUND when no provider user has the e-mail.
	Acknowledge(ctx context.Context, page Page, email string) (time.Time, error)
	// Resolve resolves a page and returns the provider's time of it, as
	// Acknowledge.
	Resolve(ctx context.Context, page Page) (time.Time, error)
	// OnCall lists who is on call for the service now, first level first.
	OnCall(ctx context.Context, svc ServicePolicy) ([]OnCall, error)
}

// PageEscalator is a Pager that can move an open page on to a further
// level of its escalation policy at once.
//
// Escalating is two calls so that a caller can decide the level once and
// keep it before asking: a call that took effect but failed to answer is
// then retried to the same level, never one further.
type PageEscalator interface {
	// NextEscalationLevel returns the level the page would escalate to
	// now: the one after the level it is at (the first level is 1).
	// EINVALID or ENOTFOUND when the page cannot be escalated (it was sent
	// in a way that cannot escalate, or nobody is on the next level).
	// ECONFLICT when the provider has the page acknowledged or resolved
	// already: the error then has an Answered() *Page method giving the
	// page as the provider has it (its status, and who acknowledged it and
	// when), which the caller records instead of escalating.
	NextEscalationLevel(ctx context.Context, page Page) (int, error)
	// EscalateTo moves the page to that level of its escalation policy and
	// returns it with its assignees and the provider's StatusAt, and
	// whether it moved it: a page at that level or past it already is
	// left as it is (escalated false).
	// EINVALID or ENOTFOUND when the page cannot be escalated (it was sent
	// in a way that cannot escalate, or nobody is on call at the level).
	EscalateTo(ctx context.Context, page Page, level int) (updated *Page, escalated bool, err error)
}

// PageResponders is a Pager that can say who a page reached.
type PageResponders interface {
	// Responders returns the e-mail addresses of the people the page is
	// assigned to now. EINVALID when the provider cannot tell.
	Responders(ctx context.Context, page Page) ([]string, error)
}

// PageRequest asks for a page.
type PageRequest struct {
	IncidentID  int64
	IncidentKey string // INC-42
	Title       string
	Details     string
	Severity    Severity
	Service     ServicePolicy
	// Urgency is "high" or "low".
	Urgency string
	// FromEmail attributes the page to the declaring person (REST API).
	FromEmail string
	// Backup also pages the escalation policy's next level at once.
	Backup bool
	// DedupKey identifies the page: the same key never pages twice.
	DedupKey string
	// NotBefore, when set, is when the incident was declared: an open page
	// the provider has under DedupKey already is this request's only when
	// it was opened since, give or take the clocks' skew; an older one is
	// someone else's (another installation's, or an incident this database
	// no longer has), and the page is refused with ECONFLICT rather than
	// taken for this incident's.
	NotBefore time.Time
	// Link is a web link to the incident channel.
	Link string
	// Runbook is the service's runbook link, shown first so the person
	// paged knows what to do at once.
	Runbook string
}

// Page is one page sent to a provider.
type Page struct {
	ID         int64
	IncidentID int64
	Provider   string // pagerduty
	// ExternalID is the provider's incident id (REST) or dedup key (Events v2).
	ExternalID string
	DedupKey   string
	Service    string // our service key
	URL        string
	Status     string // triggered, acknowledged, resolved
	// Assignees are the people the provider notified, by name.
	Assignees      []string
	CreatedAt      time.Time
	AcknowledgedAt *time.Time
	AcknowledgedBy string
	ResolvedAt     *time.Time
	// StatusAt is when, by the provider's clock, the latest change known
	// of the page happened: the occurred_at of a webhook, or the time the
	// provider's answer gives the bot's own change (the page, an
	// acknowledgement, an escalation, a resolution); nil until one is
	// known. A report of an earlier change, delivered late, is older than
	// the page's state and changes nothing. A change the provider gives no
	// time for (PagerDuty's Events API) leaves it as it is: the bot's clock
	// is never compared with the provider's.
	StatusAt *time.Time
	// Retriggers counts the times the provider put the page back to
	// triggered after an acknowledgement or a resolution (the
	// acknowledgement timed out, or the incident reopened). A Slack
	// acknowledgement is keyed by it: one in a later round is a new one.
	Retriggers int
}

// OnCall is one person on call.
type OnCall struct {
	Level    int
	Name     string
	Email    string
	Schedule string
	Until    time.Time
}

// PageEventKind is what happened to a page at the provider.
type PageEventKind string

// Page event kinds, as PagerDuty's v3 webhooks name them.
const (
	PageAcknowledged   PageEventKind = "acknowledged"
	PageUnacknowledged PageEventKind = "unacknowledged"
	PageEscalated      PageEventKind = "escalated"
	PageReassigned     PageEventKind = "reassigned"
	PageResolved       PageEventKind = "resolved"
	PageReopened       PageEventKind = "reopened"
)

// PageEvent is a provider's report about a page, from a webhook.
type PageEvent struct {
	// DeliveryID deduplicates redeliveries (the webhook event id).
	DeliveryID string
	Kind       PageEventKind
	ExternalID string
	DedupKey   string
	Agent      string // who acted, by name
	AgentEmail string
	Assignees  []string
	At         time.Time
}

// ChangeSource lists recent changes to production for a service: deploys,
// merged pull requests, workflow runs, flag changes.
type ChangeSource interface {
	// Name names the source in the changes list ("GitHub").
	Name() string
	// Changes returns the service's changes with OccurredAt in [from, to].
	// A source with nothing configured for the service returns none.
	Changes(ctx context.Context, svc ServicePolicy, from, to time.Time) ([]ChangeEvent, error)
}

// CuttingChangeSource is a ChangeSource that reads at most so many changes
// of a kind in a window, and says when it stopped short of them all; the
// list of changes then says so rather than pass the newest for all.
type CuttingChangeSource interface {
	ChangeSource
	// ChangesCut is Changes, with one SourceCut for each kind of change
	// it read only the newest of; their Source may be left empty.
	ChangesCut(ctx context.Context, svc ServicePolicy, from, to time.Time) ([]ChangeEvent, []SourceCut, error)
}

// Rollbacker undoes one kind of change: a deploy (GitHub) or a flag change
// (LaunchDarkly, Unleash).
type Rollbacker interface {
	// Handles reports whether this rollbacker can undo the change.
	Handles(c ChangeEvent) bool
	// Plan says exactly what a rollback of the change would do, without
	// doing it. EINVALID when the change cannot be rolled back.
	Plan(ctx context.Context, c ChangeEvent, svc ServicePolicy) (RollbackPlan, error)
	// Execute carries out the plan and returns a handle to follow it.
	// Implementations are idempotent on plan.Key.
	Execute(ctx context.Context, plan RollbackPlan, actor string) (RollbackRun, error)
	// Progress reports how far an executed rollback has got.
	Progress(ctx context.Context, run RollbackRun) (RollbackRun, error)
}

// RollbackPlan is what a confirmation modal shows before a rollback.
type RollbackPlan struct {
	// Key identifies the rollback: executing the same plan twice rolls back once.
	Key         string
	Kind        ChangeKind // deploy or flag
	Source      string
	Description string // one sentence: "Redeploy acme/checkout to production at 1a2b3c4 (from 9f8e7d6)."
	Repo        string
	Environment string
	// Service is the key of the change's service, whose owners may roll it
	// back.
	Service  string
	FromRef  string
	ToRef    string
	Method   string // workflow or deployment, for deploys; off or revert, for flags
	Workflow string
	Project  string
	Flag     string
	ChangeID string // the ChangeEvent's Source+ExternalID
}

// RollbackRun follows an executed rollback.
type RollbackRun struct {
	Plan       RollbackPlan
	ExternalID string // workflow run id, deployment id, flag version
	URL        string
	// Status is queued, in_progress, succeeded or failed.
	Status string
	Detail string
}

// Postmortem export.

// PostmortemDoc is a rendered postmortem draft, ready to export.
type PostmortemDoc struct {
	IncidentKey string
	Title       string
	// Slug names the file: postmortems/YYYY-MM-DD-<slug>.md.
	Slug        string
	Date        time.Time
	Markdown    string
	Confluence  string // Confluence storage-format XHTML
	ActionItems []ActionItem
	// OwnerNames maps an action item owner's Slack user id to the name the
	// chat shows for them; an owner missing from it is named by the id.
	OwnerNames map[string]string
	// GitHubLogins maps an action item owner's Slack user id to their
	// GitHub login, as the policy maps them (Policy.GitHubLogins).
	GitHubLogins map[string]string
}

// ExportRef points at an exported postmortem, so a re-export updates it.
type ExportRef struct {
	Target  string // confluence, github
	ID      string // page id, pull request number, issue number
	URL     string
	Version int
	// Digest names what the exporter last wrote, where the target keeps
	// no history that says who wrote what (GitHub: a file's blob sha, a
	// hash of an issue's body), so a re-export tells an edit people made
	// since from its own write. Empty when the exporter keeps none.
	Digest string
	// Pending names, as Digest does, what the exporter was about to write
	// when it last recorded: it is recorded before the write, so a write
	// that took effect but whose answer was lost (a 502, a process that
	// stopped) is still known for the exporter's own on the retry, not
	// taken for an edit. Empty once an export is recorded whole.
	Pending string
}

// Exporter publishes a postmortem draft. With prev set it updates that
// document instead of creating another. When the document was published
// but a further step failed (such as opening the action items' issues),
// Export returns the document's ref together with the error, so that the
// export is recorded and its link said before the failure is.
type Exporter interface {
	Name() string
	Export(ctx context.Context, doc PostmortemDoc, prev *ExportRef) (ExportRef, error)
}

// RecordingExporter is an Exporter that has what it is about to write
// recorded before each write (ExportRef.Pending), where the target keeps
// no history that tells its own writes from people's edits (GitHub).
type RecordingExporter interface {
	Exporter
	// ExportRecorded is Export, calling record before each write with the
	// reference to keep meanwhile: prev's, with Pending set. An error from
	// record stops the export before that write.
	ExportRecorded(ctx context.Context, doc PostmortemDoc, prev *ExportRef, record func(context.Context, ExportRef) error) (ExportRef, error)
}

// NamesKey reports whether text names a rollback plan's key as a whole
// word, as a run's title does when a workflow is named after the reason the
// bot dispatched it with: a retry's key ("<key>#retry1") does not name the
// first round's, nor does a longer key that starts with it.
func NamesKey(text, key string) bool {
	if key == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(text[i:], key)
		if j < 0 {
			return false
		}
		end := i + j + len(key)
		if end == len(text) {
			return true
		}
		if next, _ := utf8.DecodeRuneInString(text[end:]); next != '#' && !unicode.IsLetter(next) && !unicode.IsDigit(next) {
			return true
		}
		i += j + 1
	}
}
