package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
)

// Store is what alerts need of the incident store. An alert joins its
// group in one transaction (Atomic), whose Tx keeps alerts too.
type Store interface {
	incident.AlertStore
	GetIncident(ctx context.Context, id int64) (*incident.Incident, error)
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	incident.Transactor
}

// groupTx is the transaction an alert joins or starts its group in: the
// group's claim, the alert, the line that says it joined an incident and
// the jobs that propose it or redraw its group's proposal are one write.
type groupTx interface {
	incident.AlertStore
	GetIncident(ctx context.Context, id int64) (*incident.Incident, error)
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	incident.Scheduler
}

// Core is what alerts need of the incident core (*incident.Service).
type Core interface {
	Declare(ctx context.Context, in incident.DeclareInput) (*incident.Incident, bool, error)
	Authorize(ctx context.Context, req incident.Request) (incident.Decision, error)
	// Notify says notices in the incident's channel through the durable
	// sync job.
	Notify(ctx context.Context, inc *incident.Incident, notices ...incident.Notice) error
	// NotifyOn is Notify on sched, such as a Store.Atomic's Tx: the
	// notices are said only if the transaction commits.
	NotifyOn(ctx context.Context, sched incident.Scheduler, inc *incident.Incident, notices ...incident.Notice) error
}

// Chat posts the proposal, with its buttons, in a channel, and redraws it
// as its group grows and resolves.
type Chat interface {
	Notify(ctx context.Context, channelID string, n incident.Notice) (ts string, err error)
	UpdateNotice(ctx context.Context, channelID, ts string, n incident.Notice) error
}

// Config holds the Service's dependencies.
type Config struct {
	Store     Store
	Core      Core
	Chat      Chat
	Scheduler incident.Scheduler
	// Policy gives the alert rules and channels; zero means the default.
	Policy incident.Policy
	Clock  incident.Clock
	Logger *slog.Logger
	// Render words a notice for the timeline as the chat would say it, as
	// the core's ServiceConfig.Render; nil means Notice.String.
	Render func(incident.Notice) string
}

// Service turns monitoring alerts into proposals, incidents and timeline
// events, once per alert episode.
type Service struct {
	store      Store
	core       Core
	chat       Chat
	sched      incident.Scheduler
	policy     incident.Policy
	clock      incident.Clock
	log        *slog.Logger
	noticeText func(incident.Notice) string
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = incident.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Policy.Severities == nil {
		cfg.Policy = incident.DefaultPolicy()
	}
	if cfg.Render == nil {
		cfg.Render = incident.Notice.String
	}
	return &Service{store: cfg.Store, core: cfg.Core, chat: cfg.Chat, sched: cfg.Scheduler, policy: cfg.Policy,
		clock: cfg.Clock, log: cfg.Logger, noticeText: cfg.Render}
}

// RegisterJobs registers the proposal's jobs.
func (s *Service) RegisterJobs(r interface {
	Handle(kind string, h incident.JobHandler)
}) {
	r.Handle(JobPropose, s.runAlertPropose)
	r.Handle(JobProposalResolved, s.runProposalResolved)
	r.Handle(JobProposalRefresh, s.runProposalRefresh)
	r.Handle(JobGroupJoin, s.runGroupJoin)
}

func (s *Service) authorize(ctx context.Context, req incident.Request) error {
	d, err := s.core.Authorize(ctx, req)
	if err != nil {
		return fmt.Errorf("check permission: %w", err)
	}
	return d.Err()
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// JobPropose posts the "Declare from this alert?" proposal of a
// matched alert in its service's channel.
const JobPropose = "alert.propose"

// ruleFor returns the rule an alert falls under: the first policy rule its
// labels match, else, for a PagerDuty incident on a service the policy maps
// (services.<key>.pagerduty.service_id), that service, at P2 for a
// high-urgency incident and P3 for a low one.
func ruleFor(p incident.Policy, ev incident.AlertEvent) (incident.AlertRule, bool) {
	if r, ok := p.MatchAlert(ev.Labels); ok {
		return r, true
	}
	if ev.Source != "pagerduty" || ev.Labels["pagerduty_service"] == "" {
		return incident.AlertRule{}, false
	}
	for _, key := range p.ServiceKeys() {
		if p.Services[key].PagerDuty.ServiceID != ev.Labels["pagerduty_service"] {
			continue
		}
		sev := incident.P3
		if ev.Labels["urgency"] == "high" {
			sev = incident.P2
		}
		return incident.AlertRule{Name: "pagerduty service " + key, Service: key, Severity: sev}, true
	}
	return incident.AlertRule{}, false
}

func alertTitle(ev incident.AlertEvent) string {
	// A sender's text may hold terminal colours or other control
	// characters, which an incident's title refuses: they become spaces.
	t := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(ev.Title, "\uFFFD"))
	t = strings.Join(strings.Fields(t), " ")
	if t == "" {
		t = "alert " + ev.Fingerprint
	}
	if utf8.RuneCountInString(t) > incident.MaxTitleLength {
		t = truncate(t, incident.MaxTitleLength)
	}
	return t
}

// webLink returns link when it is a web address the chat can show as it
// is, and "" otherwise. The sender's link (generatorURL, dashboardURL,
// html_url) is posted with the proposal unescaped, so that it stays a
// link; one with characters a URL has only percent-encoded, among them
// Slack's markup (<!channel>, <url|label>), or of another scheme
// (javascript:), is left out rather than posted.
func webLink(link string) string {
	link = strings.TrimSpace(link)
	if link == "" || len(link) > maxLink || strings.ContainsFunc(link, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`<>|"{}\^`+"`", r)
	}) {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return link
}

// maxLink bounds an alert's link; a longer one is left out.
const maxLink = 2000

type alertPayload struct {
	AlertID int64 `json:"alert_id"`
	// At is when the group's last alert resolved (JobProposalResolved).
	At time.Time `json:"at,omitzero"`
}

// HandleAlert takes one alert from a monitoring webhook (HandleAlerts takes
// a delivery of several). A firing alert that matches a policy rule is
// proposed in its service's channel, or declared at once when the rule
// says auto; one already tied to an open incident is added to its timeline
// when it fires again. A resolved alert tied to an incident is announced
// in its channel. Alerts are deduplicated by source and fingerprint, so
// redeliveries and repeats change nothing twice, and a resend of a firing
// alert (the same StartsAt, as Alertmanager repeats every group_interval
// and from each HA peer) says nothing. Deliveries may come late and out of
// order (Alertmanager and Grafana deliver at least once, from each HA
// peer), so StartsAt tells which firing a delivery is of: a firing of a
// resolved alert that started no later than the resolved one is a late
// copy of it and changes nothing (also when the resolution came first: it
// is kept, proposing nothing), and a resolution of a firing that started
// before the stored one (the alert fired again since) is ignored. EINVALID
// for an alert without source or fingerprint.
func (s *Service) HandleAlert(ctx context.Context, ev incident.AlertEvent) error {
	return s.HandleAlerts(ctx, []incident.AlertEvent{ev})
}

// neverFired reports whether a was kept from a resolution that came
// before any firing of it (resolvedFirst).
func neverFired(a *incident.Alert) bool {
	return a.Status == incident.AlertResolved && a.Count == 0
}

// storedFirst aborts storing an alert that a concurrent delivery stored
// first.
type storedFirst struct{ alert *incident.Alert }

func (e *storedFirst) Error() string { return "the alert is already stored" }

// inGroup stores an alert, new or of a new episode, in its group, in one
// transaction: it claims the group of a's rule and service, finds it
// (joinGroup), and has write store the alert with the group's fields set
// in g. Then, in the same transaction, an alert that joined an incident
// is said on its timeline; one that joined a proposal has the proposal
// redrawn with its count; one that leads its own is proposed, unless auto
// (its caller declares it once it is stored). Two alerts of a storm
// stored at once make one group, and a process that dies between the
// alert and its line leaves neither.
func (s *Service) inGroup(ctx context.Context, a *incident.Alert, auto bool, now time.Time,
	write func(tx groupTx, g *incident.Alert) (*incident.Alert, error)) (*incident.Alert, error) {
	var stored *incident.Alert
	err := s.store.Atomic(ctx, func(itx incident.Tx) error {
		tx, ok := itx.(groupTx)
		if !ok {
			return fmt.Errorf("the store's transaction (%T) keeps no alerts", itx)
		}
		g := &incident.Alert{Rule: a.Rule, Service: a.Service, State: incident.AlertProposed}
		inc, err := s.joinGroup(ctx, tx, g, now)
		if err != nil {
			return err
		}
		if stored, err = write(tx, g); err != nil {
			return err
		}
		switch {
		case stored.GroupID == 0 && auto:
			return nil
		case stored.GroupID == 0:
			return s.propose(ctx, tx, stored)
		case inc != nil:
			return s.joinedGroup(ctx, tx, stored, inc, now)
		default:
			s.log.InfoContext(ctx, "alert joined the proposal of its rule", "alert", stored.ID, "group", stored.GroupID, "rule", stored.Rule)
			return s.refreshProposal(ctx, tx, stored.GroupID, stored, now)
		}
	})
	return stored, err
}

// groupWindow is how recently an alert must have been delivered for
// another of its rule and service to join it. Alertmanager delivers a
// firing alert again at least every repeat_interval (4 hours by default).
const groupWindow = 4 * time.Hour

// joinGroup makes a, a new alert (or a new episode of one), join the group
// of its rule and service when one is open: the newest alert of them that
// fires and waits for a decision, or that started an incident still open.
// A storm of alerts of one rule (a host or pod each) is then one proposal,
// or one incident and one page, not one per alert. It returns the
// incident a joins, nil when it joins a proposal or leads its own.
func (s *Service) joinGroup(ctx context.Context, tx groupTx, a *incident.Alert, now time.Time) (*incident.Incident, error) {
	leader, err := tx.FindAlertGroup(ctx, a.Rule, a.Service, now.Add(-groupWindow))
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("find the alerts of rule %s: %w", a.Rule, err)
	}
	if leader.State == incident.AlertProposed {
		a.GroupID = leader.ID
		return nil, nil
	}
	if leader.IncidentID == 0 {
		return nil, nil
	}
	inc, err := tx.GetIncident(ctx, leader.IncidentID)
	if err != nil {
		return nil, fmt.Errorf("find the incident of alert %d: %w", leader.ID, err)
	}
	if !inc.Status.Open() {
		return nil, nil // over: this alert leads a new group
	}
	a.GroupID, a.State, a.IncidentID, a.DecidedBy = leader.ID, incident.AlertDeclared, inc.ID, leader.DecidedBy
	return inc, nil
}

// joinedGroup records, in tx, an alert that joined the incident its group
// started: on the incident's timeline, without a word in the channel (a
// storm would say it once per alert).
func (s *Service) joinedGroup(ctx context.Context, tx groupTx, a *incident.Alert, inc *incident.Incident, now time.Time) error {
	s.log.InfoContext(ctx, "alert joined the alerts of its rule", "alert", a.ID, "group", a.GroupID, "rule", a.Rule, "incident", a.IncidentID)
	ev := joinedLine(a, inc, now)
	if err := tx.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("alert joined %s: %w", inc.Key(), err)
	}
	return nil
}

// joinedLine is the timeline line that says the alert a joined inc.
func joinedLine(a *incident.Alert, inc *incident.Incident, now time.Time) incident.TimelineEvent {
	return incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventAlert, Actor: a.Source, At: now,
		Text:     fmt.Sprintf("%s (%s) is firing too; it joined this incident with the other alerts of rule %s.", a.Title, sourceLabel(a.Source), a.Rule),
		SourceID: fmt.Sprintf("alert:%d:joined:%d", a.ID, a.FirstAt.UnixNano()),
		Payload:  incident.AlertData{Alert: a.ID, Status: a.Status, URL: a.URL}}
}

// followGroup brings an alert that joined a proposal up to what was
// decided about it since: declared (the alert joins the incident) or
// dismissed. It returns the alert as it is now.
func (s *Service) followGroup(ctx context.Context, a *incident.Alert) (*incident.Alert, error) {
	if a.GroupID == 0 || a.State != incident.AlertProposed || a.IncidentID != 0 {
		return a, nil
	}
	leader, err := s.store.GetAlert(ctx, a.GroupID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return a, nil
	} else if err != nil {
		return nil, fmt.Errorf("find the alert %d leads: %w", a.GroupID, err)
	}
	if leader.State == incident.AlertProposed {
		return a, nil
	}
	return s.store.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error {
		if x.State == incident.AlertProposed && x.IncidentID == 0 {
			x.State, x.IncidentID, x.DecidedBy = leader.State, leader.IncidentID, leader.DecidedBy
		}
		return nil
	})
}

// startAlert declares or proposes a stored alert that leads its group
// and is still undecided (a redelivery after a failure to).
func (s *Service) startAlert(ctx context.Context, a *incident.Alert, auto bool) error {
	if auto {
		_, err := s.DeclareFromAlert(ctx, a.ID, "bot", incident.ReplyTarget{})
		return err
	}
	return s.propose(ctx, s.sched, a)
}

// propose schedules the proposal of a, keyed by its episode.
func (s *Service) propose(ctx context.Context, sched incident.Scheduler, a *incident.Alert) error {
	payload, _ := json.Marshal(alertPayload{AlertID: a.ID})
	_, err := sched.Schedule(ctx, incident.Job{Kind: JobPropose, Key: fmt.Sprintf("alert_propose:%d:%d", a.ID, a.FirstAt.UnixNano()),
		Payload: payload, MaxAttempts: 8})
	if err != nil {
		return fmt.Errorf("schedule the alert proposal: %w", err)
	}
	return nil
}

// errEpisodeStarted aborts starting an alert's new episode that a
// concurrent delivery started first.
var errEpisodeStarted = errors.New("the alert's new episode has started")

// alertRepeated handles a firing delivery of a known alert.
func (s *Service) alertRepeated(ctx context.Context, a *incident.Alert, ev incident.AlertEvent, now time.Time) error {
	a, err := s.followGroup(ctx, a)
	if err != nil {
		return fmt.Errorf("alert repeat: %w", err)
	}
	var inc *incident.Incident
	if a.IncidentID != 0 {
		got, err := s.store.GetIncident(ctx, a.IncidentID)
		if err != nil {
			return fmt.Errorf("alert repeat: %w", err)
		}
		inc = got
	}
	wasResolved := a.Status == incident.AlertResolved
	if wasResolved && isResend(a.StartsAt, ev.StartsAt) {
		s.log.InfoContext(ctx, "late firing of a resolved alert ignored", "alert", a.ID, "starts_at", ev.StartsAt)
		return nil
	}
	// A new episode: the alert resolved, and its incident is over or it was
	// dismissed, or it was never heard firing (its resolution came first);
	// it fires again (a later StartsAt, or none), so responders decide
	// again.
	if wasResolved && (a.State == incident.AlertDismissed || (inc != nil && !inc.Status.Open()) || neverFired(a)) {
		rule, ok := ruleFor(s.policy, ev)
		if !ok {
			return nil
		}
		template := &incident.Alert{Rule: rule.Name, Service: rule.Service}
		updated, err := s.inGroup(ctx, template, rule.Auto, now, func(tx groupTx, group *incident.Alert) (*incident.Alert, error) {
			return tx.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error {
				if x.Status != incident.AlertResolved || !x.FirstAt.Equal(a.FirstAt) {
					// A concurrent delivery started the new episode after
					// this one read the alert: this one is a repeat of it.
					return errEpisodeStarted
				}
				x.Status, x.State, x.IncidentID, x.ResolvedAt = incident.AlertFiring, group.State, group.IncidentID, nil
				x.GroupID, x.ChannelID, x.MessageTS, x.DecidedBy = group.GroupID, "", "", group.DecidedBy
				x.Title, x.Summary, x.URL, x.Labels = alertTitle(ev), truncate(strings.TrimSpace(ev.Summary), 1000), ev.URL, ev.Labels
				x.Rule, x.Service, x.Severity = rule.Name, rule.Service, rule.Severity
				x.Count, x.StartsAt, x.FirstAt, x.LastAt = 1, ev.StartsAt, now, now
				return nil
			})
		})
		if errors.Is(err, errEpisodeStarted) {
			cur, err := s.store.GetAlert(ctx, a.ID)
			if err != nil {
				return fmt.Errorf("alert fired again: %w", err)
			}
			return s.alertRepeated(ctx, cur, ev, now)
		}
		if err != nil {
			return fmt.Errorf("alert fired again: %w", err)
		}
		if updated.GroupID == 0 && rule.Auto {
			_, err := s.DeclareFromAlert(ctx, updated.ID, "bot", incident.ReplyTarget{})
			return err
		}
		return nil
	}
	var (
		resend  bool
		updated *incident.Alert
	)
	// The change of the alert, its line on the timeline and the notice
	// that says it are one write: a delivery that fails after the alert
	// changed leaves nothing, and the sender's retry says it, once.
	err = s.store.Atomic(ctx, func(itx incident.Tx) error {
		tx, ok := itx.(groupTx)
		if !ok {
			return fmt.Errorf("the store's transaction (%T) keeps no alerts", itx)
		}
		u, err := tx.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error {
			// Read under the lock: of two deliveries of a firing that
			// follows a resolution, or of one new StartsAt, only the first
			// says it fires again.
			wasResolved = x.Status == incident.AlertResolved
			if wasResolved && isResend(x.StartsAt, ev.StartsAt) {
				return errLateFiring
			}
			resend = !wasResolved && isResend(x.StartsAt, ev.StartsAt)
			if !wasResolved && x.StartsAt.IsZero() && !ev.StartsAt.IsZero() && !ev.StartsAt.After(x.LastAt) {
				// Stored without a start time (before start times were
				// kept, or from a sender that gave none until now): a
				// firing that began before the alert was last heard of
				// is the one already known, so it is adopted, not said
				// again.
				resend = true
				x.StartsAt = ev.StartsAt
			}
			x.LastAt = now
			if resend {
				return nil
			}
			x.Status, x.ResolvedAt = incident.AlertFiring, nil
			x.Count++
			if ev.StartsAt.After(x.StartsAt) {
				x.StartsAt = ev.StartsAt
			}
			return nil
		})
		if err != nil {
			return err
		}
		updated = u
		if resend || (updated.State == incident.AlertProposed && updated.IncidentID == 0) || inc == nil || !inc.Status.Open() {
			return nil
		}
		return s.sayRepeated(ctx, tx, updated, inc, wasResolved, now)
	})
	if errors.Is(err, errLateFiring) {
		return nil
	} else if err != nil {
		return fmt.Errorf("alert repeat: %w", err)
	}
	if updated.State == incident.AlertProposed && updated.IncidentID == 0 {
		// Still undecided: the delivery that stored it may have failed to
		// propose or declare it, and its sender delivers again. Both are
		// keyed by the episode, so this does them once. An alert that
		// joined another's proposal waits for that one's decision.
		if updated.GroupID != 0 {
			if wasResolved {
				return s.refreshProposal(ctx, s.sched, updated.GroupID, updated, now)
			}
			return nil
		}
		if wasResolved && updated.MessageTS != "" {
			// The leader of a posted proposal fires again.
			if err := s.refreshProposal(ctx, s.sched, updated.ID, updated, now); err != nil {
				return err
			}
		}
		if rule, ok := ruleFor(s.policy, ev); ok && (rule.Auto || updated.MessageTS == "") {
			return s.startAlert(ctx, updated, rule.Auto)
		}
	}
	return nil
}

// errLateFiring aborts counting a firing of an alert that resolved since:
// a late copy of the firing that resolved.
var errLateFiring = errors.New("the firing has resolved since")

// sayRepeated says, in tx, on the timeline of the open incident inc and,
// unless a joined it with a storm, in its channel, that its alert a fired
// again: refiring when it had resolved, a repeat otherwise.
func (s *Service) sayRepeated(ctx context.Context, tx groupTx, a *incident.Alert, inc *incident.Incident, refiring bool, now time.Time) error {
	n := incident.Notice{Kind: incident.NoticeAlertRepeat, Incident: inc.Key(), Actor: a.Source,
		Values: map[string]string{"title": a.Title, "source": sourceLabel(a.Source), "count": fmt.Sprint(a.Count)}}
	if refiring {
		n.Kind = incident.NoticeAlertRefiring
		delete(n.Values, "count")
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventAlert, Actor: a.Source, At: now, Key: refiring, Text: s.noticeText(n),
		SourceID: fmt.Sprintf("alert:%d:%d", a.ID, a.Count),
		Payload:  incident.AlertData{Alert: a.ID, Status: incident.AlertFiring, Count: a.Count}}
	if err := tx.AddTimelineEvent(ctx, &ev); err != nil {
		if incident.ErrorCode(err) == incident.ECONFLICT {
			return nil
		}
		return err
	}
	if a.GroupID != 0 {
		return nil // one of a storm: on the timeline only
	}
	return s.core.NotifyOn(ctx, tx, inc, n)
}

// isResend reports whether a firing delivery starting at startsAt repeats
// the firing stored as starting at stored, rather than a new one: both are
// known, and the delivery's is not later (an earlier one is a late
// delivery of a firing already past). Compared to the microsecond, as the
// stores keep times.
func isResend(stored, startsAt time.Time) bool {
	if stored.IsZero() || startsAt.IsZero() {
		return false
	}
	return !startsAt.Truncate(time.Microsecond).After(stored.Truncate(time.Microsecond))
}

// startedBefore reports whether a delivery of a firing that started at
// startsAt tells of one before the firing stored as starting at stored:
// both are known, and the delivery's is earlier. Compared to the
// microsecond, as the stores keep times.
func startedBefore(startsAt, stored time.Time) bool {
	if stored.IsZero() || startsAt.IsZero() {
		return false
	}
	return startsAt.Truncate(time.Microsecond).Before(stored.Truncate(time.Microsecond))
}

// errLateResolution aborts resolving an alert whose delivery tells of the
// end of an earlier firing than the one stored.
var errLateResolution = errors.New("the resolution is of an earlier firing")

// errAlreadyResolved aborts resolving an alert a concurrent delivery
// resolved first.
var errAlreadyResolved = errors.New("the alert has resolved")

// alertResolved records the resolution ev of a known alert and, when it
// started an incident still running, says so in the incident channel: the
// resolution, its line on the timeline and the notice are one write, so a
// delivery that fails leaves the alert firing, and the sender's retry
// resolves it and says so, once.
func (s *Service) alertResolved(ctx context.Context, a *incident.Alert, ev incident.AlertEvent, now time.Time) error {
	if neverFired(a) {
		// Resolved again before any firing was delivered: a later
		// episode's end, whose late firing is as stale.
		if !startedBefore(a.StartsAt, ev.StartsAt) {
			return nil
		}
		_, err := s.store.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error {
			if !neverFired(x) || !startedBefore(x.StartsAt, ev.StartsAt) {
				return errAlreadyResolved
			}
			x.StartsAt = ev.StartsAt
			return nil
		})
		if err != nil && !errors.Is(err, errAlreadyResolved) {
			return fmt.Errorf("alert resolved: %w", err)
		}
		return nil
	}
	if a.Status == incident.AlertResolved {
		// A redelivery: the delivery that resolved it may have stopped
		// before its note was scheduled.
		return s.noteProposalResolved(ctx, a, now)
	}
	a, err := s.followGroup(ctx, a)
	if err != nil {
		return fmt.Errorf("alert resolved: %w", err)
	}
	var updated *incident.Alert
	err = s.store.Atomic(ctx, func(itx incident.Tx) error {
		tx, ok := itx.(groupTx)
		if !ok {
			return fmt.Errorf("the store's transaction (%T) keeps no alerts", itx)
		}
		u, err := tx.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error {
			if x.Status == incident.AlertResolved {
				return errAlreadyResolved
			}
			if startedBefore(ev.StartsAt, x.StartsAt) {
				// It fired again since this delivery's firing began.
				return errLateResolution
			}
			x.Status = incident.AlertResolved
			t := now
			x.ResolvedAt = &t
			return nil
		})
		if err != nil {
			return err
		}
		updated = u
		if updated.IncidentID == 0 {
			return nil
		}
		return s.sayResolved(ctx, tx, updated, now)
	})
	if errors.Is(err, errAlreadyResolved) || errors.Is(err, errLateResolution) {
		return nil
	} else if err != nil {
		return fmt.Errorf("alert resolved: %w", err)
	}
	if updated.IncidentID == 0 {
		return s.noteProposalResolved(ctx, updated, now)
	}
	return nil
}

// sayResolved says, in tx, on the timeline of the incident the alert a
// started or joined and, when a started it, in its channel, that a
// resolved; nothing once the incident is closed.
func (s *Service) sayResolved(ctx context.Context, tx groupTx, a *incident.Alert, now time.Time) error {
	inc, err := tx.GetIncident(ctx, a.IncidentID)
	if err != nil {
		return err
	}
	if inc.Status == incident.StatusClosed {
		return nil
	}
	n := incident.Notice{Kind: incident.NoticeAlertResolved, Incident: inc.Key(), Actor: a.Source, Values: map[string]string{
		"title": a.Title, "source": sourceLabel(a.Source), "after": incident.Since(a.FirstAt, now), "open": fmt.Sprint(inc.Status.Open())}}
	if a.GroupID == 0 {
		// The leader of a storm: the others of its group may fire on.
		c, err := tx.CountAlertGroup(ctx, a.ID)
		if err != nil {
			return err
		}
		groupValues(n.Values, c)
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventAlert, Actor: a.Source, At: now, Key: true, Text: s.noticeText(n),
		SourceID: fmt.Sprintf("alert:%d:resolved:%d", a.ID, now.UnixNano()),
		Payload:  incident.AlertData{Alert: a.ID, Status: incident.AlertResolved}}
	if a.GroupID != 0 {
		// One of a storm: on the timeline only, off the postmortem's
		// key events.
		ev.Key = false
	}
	if err := tx.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return err
	}
	if a.GroupID != 0 {
		return nil
	}
	return s.core.NotifyOn(ctx, tx, inc, n)
}

// DeclareFromAlert declares the incident an alert proposes, once however
// often it is clicked: the declare is keyed by the alert's episode. actor
// is the Slack user who clicked, or "bot" for a rule's auto declare. The
// alert keeps who declared it: of two people clicking, the one whose
// click declared. ENOTFOUND for an unknown alert; ECONFLICT when it was
// dismissed, or when someone else already declared its incident (with
// that incident).
func (s *Service) DeclareFromAlert(ctx context.Context, alertID int64, actor string, reply incident.ReplyTarget) (*incident.Incident, error) {
	a, err := s.store.GetAlert(ctx, alertID)
	if err != nil {
		return nil, fmt.Errorf("declare from alert: %w", err)
	}
	if a.State == incident.AlertDismissed {
		return nil, incident.Errorf(incident.ECONFLICT, "%s dismissed this alert as not an incident.", incident.User(a.DecidedBy))
	}
	desc := a.Summary
	if a.URL != "" {
		desc = strings.TrimSpace(desc + "\n" + a.URL)
	}
	in := incident.DeclareInput{Title: a.Title, Description: truncate(desc, 3000), Severity: a.Severity, ServiceKey: a.Service,
		DeclaredBy: actor, Key: fmt.Sprintf("alert:%d:%d", a.ID, a.FirstAt.UnixNano()), ReplyTo: reply,
		Paged: pagerDutyPage(s.policy, a)}
	inc, existed, err := s.core.Declare(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.link(ctx, a, inc); err != nil {
		return inc, err
	}
	if existed && inc.DeclaredBy != actor {
		return inc, incident.Errorf(incident.ECONFLICT, "%s already declared %s from this alert.", incident.User(inc.DeclaredBy), inc.Key())
	}
	return inc, nil
}

// pagerDutyPage is the PagerDuty incident a firing PagerDuty alert is, as
// the page of the incident declared from it: PagerDuty is paging the
// service's on-call for it already, so the incident takes it for its page
// (its acknowledgement, escalation and resolution are the page's, and
// resolving the incident resolves it) rather than paging the same service
// a second time. Only when the incident's service is the PagerDuty service
// of the alert (services.<key>.pagerduty.service_id); nil otherwise, and
// the incident's service is paged as usual. The page is known by the
// PagerDuty incident's id and its incident_key, which PagerDuty's reports
// of it carry.
func pagerDutyPage(p incident.Policy, a *incident.Alert) *incident.Page {
	if a.Source != "pagerduty" || a.Status != incident.AlertFiring || a.Service == "" {
		return nil
	}
	svc, ok := p.Services[a.Service]
	if !ok || svc.PagerDuty.ServiceID == "" || svc.PagerDuty.ServiceID != a.Labels["pagerduty_service"] {
		return nil
	}
	key := a.Labels["pagerduty_incident_key"]
	if key == "" || key == a.Fingerprint {
		// An alert stored before the key was kept: a key of its own,
		// never the incident's id, which would read as an Events API
		// page's.
		key = "pagerduty-incident-" + a.Fingerprint
	}
	created := a.StartsAt
	if created.IsZero() {
		created = a.FirstAt
	}
	return &incident.Page{Provider: "pagerduty", ExternalID: a.Fingerprint, DedupKey: key, Service: a.Service, URL: a.URL,
		Status: "triggered", CreatedAt: created}
}

// started is the timeline event and the notice that say an incident was
// started by the alert a, declared by whoever declared it.
func (s *Service) started(a *incident.Alert, inc *incident.Incident) (incident.TimelineEvent, incident.Notice) {
	n := incident.Notice{Kind: incident.NoticeAlertStarted, Incident: inc.Key(), Actor: inc.DeclaredBy,
		Values: map[string]string{"title": a.Title, "source": sourceLabel(a.Source), "rule": a.Rule, "url": a.URL}}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventAlert, Actor: a.Source, At: s.clock.Now(), Key: true, Text: s.noticeText(n),
		SourceID: fmt.Sprintf("alert:%d:declared", a.ID),
		Payload:  incident.AlertData{Alert: a.ID, Status: a.Status, URL: a.URL}}
	return ev, n
}

// link ties the alert to the incident declared from it and, when it leads
// a group, schedules the job that has the alerts of its proposal join the
// incident; the link that ties them first says on the incident's timeline
// and in its channel that the alert started it. One write, so a failure
// leaves the alert to be linked, and the incident to be told, by the
// sender's retry (which finds the incident declared), under the group's
// claim (FindAlertGroup). An alert
// joining the proposal in a transaction still open commits first, and the
// job lists it; one that comes after finds the leader declared and joins
// the incident itself. Without the claim, an alert that read the proposal
// as undecided just before the link, and committed after the job listed
// the group, would join only at its next delivery. The incident says who
// declared it, whichever click links it first.
func (s *Service) link(ctx context.Context, a *incident.Alert, inc *incident.Incident) error {
	return s.store.Atomic(ctx, func(itx incident.Tx) error {
		tx, ok := itx.(groupTx)
		if !ok {
			return fmt.Errorf("the store's transaction (%T) keeps no alerts", itx)
		}
		if a.GroupID == 0 {
			_, err := tx.FindAlertGroup(ctx, a.Rule, a.Service, s.clock.Now().Add(-groupWindow))
			if err != nil && incident.ErrorCode(err) != incident.ENOTFOUND {
				return fmt.Errorf("claim the alerts of rule %s: %w", a.Rule, err)
			}
		}
		first := false
		if _, err := tx.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error {
			first = x.State != incident.AlertDeclared || x.IncidentID != inc.ID
			x.State, x.IncidentID, x.DecidedBy = incident.AlertDeclared, inc.ID, inc.DeclaredBy
			return nil
		}); err != nil {
			return fmt.Errorf("link alert to %s: %w", inc.Key(), err)
		}
		if first {
			ev, n := s.started(a, inc)
			if err := tx.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
				return fmt.Errorf("say alert %d started %s: %w", a.ID, inc.Key(), err)
			}
			if err := s.core.NotifyOn(ctx, tx, inc, n); err != nil {
				return fmt.Errorf("say alert %d started %s: %w", a.ID, inc.Key(), err)
			}
		}
		return s.planGroupJoin(ctx, tx, a, inc)
	})
}

// errFollowed stops joining a member to an incident that a delivery of
// its own joined it to, or decided about, first.
var errFollowed = errors.New("the alert has followed its group")

// JobGroupJoin has the alerts that joined a proposal join the incident
// declared from it (joinMembers): a storm's hundreds of alerts are a
// transaction each, work for a job rather than for the click's answer.
const JobGroupJoin = "alert.group_join"

// groupJoinPayload names a group's leader and the incident it started.
type groupJoinPayload struct {
	AlertID    int64 `json:"alert_id"`
	IncidentID int64 `json:"incident_id"`
}

// planGroupJoin schedules JobGroupJoin on sched for an alert that leads
// its group, once per incident: a repeated click schedules nothing new.
func (s *Service) planGroupJoin(ctx context.Context, sched incident.Scheduler, leader *incident.Alert, inc *incident.Incident) error {
	if leader.GroupID != 0 {
		return nil
	}
	payload, _ := json.Marshal(groupJoinPayload{AlertID: leader.ID, IncidentID: inc.ID})
	if _, err := sched.Schedule(ctx, incident.Job{Kind: JobGroupJoin, Key: fmt.Sprintf("alert_group_join:%d:%d", leader.ID, inc.ID),
		Payload: payload, MaxAttempts: 8}); err != nil {
		return fmt.Errorf("schedule the alerts of rule %s to join %s: %w", leader.Rule, inc.Key(), err)
	}
	return nil
}

// runGroupJoin is the JobGroupJoin handler.
func (s *Service) runGroupJoin(ctx context.Context, payload []byte) error {
	var p groupJoinPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode group join payload: %w: %w", err, incident.ErrJobCancel)
	}
	leader, err := s.store.GetAlert(ctx, p.AlertID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("join the alerts of alert %d: %w", p.AlertID, err)
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("join the alerts of alert %d: %w", p.AlertID, err)
	}
	return s.joinMembers(ctx, leader, inc)
}

// joinMembers has the alerts that joined leader's proposal while it waited
// for a decision join the incident it started, each linked and, if it
// fires, said on the timeline in one transaction, as an alert that joins
// later is. Otherwise they would join only at their next delivery, which
// Alertmanager makes once per repeat_interval (4 hours by default) when
// nothing changes. A repeated click, or a retried declare, completes what
// a failure left.
func (s *Service) joinMembers(ctx context.Context, leader *incident.Alert, inc *incident.Incident) error {
	group, err := s.store.ListAlertGroup(ctx, leader.ID)
	if err != nil {
		return fmt.Errorf("the alerts of rule %s: %w", leader.Rule, err)
	}
	now := s.clock.Now()
	for _, m := range group {
		if m.ID == leader.ID || m.State != incident.AlertProposed || m.IncidentID != 0 {
			continue
		}
		err := s.store.Atomic(ctx, func(itx incident.Tx) error {
			tx, ok := itx.(groupTx)
			if !ok {
				return fmt.Errorf("the store's transaction (%T) keeps no alerts", itx)
			}
			joined, err := tx.UpdateAlert(ctx, m.ID, func(x *incident.Alert) error {
				if x.State != incident.AlertProposed || x.IncidentID != 0 {
					return errFollowed
				}
				x.State, x.IncidentID, x.DecidedBy = incident.AlertDeclared, inc.ID, inc.DeclaredBy
				return nil
			})
			if err != nil || joined.Status != incident.AlertFiring {
				return err
			}
			return s.joinedGroup(ctx, tx, joined, inc, now)
		})
		if err != nil && !errors.Is(err, errFollowed) {
			return fmt.Errorf("alert %d joins %s: %w", m.ID, inc.Key(), err)
		}
	}
	return nil
}

// DismissAlert records that an alert is not an incident, once: a double
// click changes nothing. EFORBIDDEN for someone the policy does not let
// judge it (incident.ActDismissAlert); ECONFLICT when it already started one, or when someone else
// already judged it not one.
func (s *Service) DismissAlert(ctx context.Context, alertID int64, actor string) (*incident.Alert, error) {
	a, err := s.store.GetAlert(ctx, alertID)
	if err != nil {
		return nil, err
	}
	// Judging an alert not an incident is the declarers' call; a P1's or
	// a P2's, its service's people's (incident.ActDismissAlert).
	if err := s.authorize(ctx, incident.Request{Subject: incident.Subject{User: actor}, Action: incident.ActDismissAlert,
		Severity: a.Severity, Service: a.Service}); err != nil {
		return nil, err
	}
	return s.store.UpdateAlert(ctx, alertID, func(a *incident.Alert) error {
		switch {
		case a.State == incident.AlertDeclared:
			return incident.Errorf(incident.ECONFLICT, "This alert already started INC-%d.", a.IncidentID)
		case a.State == incident.AlertDismissed && a.DecidedBy != actor:
			return incident.Errorf(incident.ECONFLICT, "%s already judged this alert not an incident.", incident.User(a.DecidedBy))
		}
		a.State, a.DecidedBy = incident.AlertDismissed, actor
		return nil
	})
}

// GetAlert returns a stored alert.
func (s *Service) GetAlert(ctx context.Context, id int64) (*incident.Alert, error) {
	return s.store.GetAlert(ctx, id)
}

// AlertProposal is the notice above the Declare / Not an incident buttons.
func AlertProposal(a *incident.Alert, p incident.Policy, buttons []incident.Button) incident.Notice {
	sp := p.Severity(a.Severity)
	svc := a.Service
	if sv, ok := p.Services[a.Service]; ok {
		svc = sv.Name
	}
	return incident.Notice{Kind: incident.NoticeAlertProposal, Actor: a.Source, Buttons: buttons, Values: map[string]string{
		"severity": a.Severity.String(), "title": a.Title, "source": sourceLabel(a.Source), "service": svc,
		"label": sp.Label, "summary": truncate(a.Summary, 500), "url": a.URL}}
}

// jobAlert decodes an alert job's payload and reads its alert: nil, and no
// error, when the alert is gone; a payload that cannot be decoded cancels
// the job.
func (s *Service) jobAlert(ctx context.Context, payload []byte, op string) (alertPayload, *incident.Alert, error) {
	var p alertPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return p, nil, fmt.Errorf("decode alert payload: %w: %w", err, incident.ErrJobCancel)
	}
	a, err := s.store.GetAlert(ctx, p.AlertID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return p, nil, nil
	} else if err != nil {
		return p, nil, fmt.Errorf("%s: %w", op, err)
	}
	return p, a, nil
}

// runAlertPropose is the JobPropose handler.
func (s *Service) runAlertPropose(ctx context.Context, payload []byte) error {
	_, a, err := s.jobAlert(ctx, payload, "propose alert")
	if err != nil || a == nil {
		return err
	}
	if a.State != incident.AlertProposed || a.MessageTS != "" {
		return nil
	}
	count, err := s.store.CountAlertGroup(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("propose alert: %w", err)
	}
	if count.Firing == 0 {
		// It resolved before its proposal went out, and every alert
		// that joined it too: nothing to decide.
		s.log.InfoContext(ctx, "alert resolved before its proposal was posted; not proposed", "alert", a.ID, "title", a.Title)
		return nil
	}
	channel := s.policy.AlertChannel(a.Service)
	if channel == "" {
		s.log.WarnContext(ctx, "no channel to propose an alert in: set the service's channel or channels.broadcast",
			"alert", a.ID, "service", a.Service)
		return nil
	}
	// Posted as its leader alone, whatever the group counts now: every
	// attempt of the job posts the same message, so a retry after a post
	// that may have landed (a 500, a record that failed) finds it in the
	// channel instead of posting another while the storm grows. The redraw
	// below adds the count.
	posted := s.proposal(a, incident.AlertGroupCount{})
	ts, err := s.chat.Notify(ctx, channel, posted)
	if err != nil {
		return fmt.Errorf("propose alert %d: %w", a.ID, err)
	}
	if _, err := s.store.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error {
		x.ChannelID, x.MessageTS = channel, ts
		return nil
	}); err != nil {
		// Retried: the retry finds the proposal posted and records it.
		// Unrecorded, it would never be redrawn, and a delivery of the
		// alert after the job is forgotten would propose it again.
		return fmt.Errorf("record the proposal of alert %d: %w", a.ID, err)
	}
	// Alerts that joined or resolved while it was posted redrew nothing
	// (it had no ts yet): bring it up to date.
	a.ChannelID, a.MessageTS = channel, ts
	return s.redraw(ctx, a, posted)
}

// proposal is the proposal of the alert a leads, with its buttons, saying
// how many alerts its group has and how many of them fire.
func (s *Service) proposal(a *incident.Alert, c incident.AlertGroupCount) incident.Notice {
	buttons := []incident.Button{
		{Action: incident.ActionAlertDeclare, Text: "Declare " + a.Severity.String(), Value: fmt.Sprint(a.ID), Style: "danger"},
		{Action: incident.ActionAlertDismiss, Text: "Not an incident", Value: fmt.Sprint(a.ID)},
	}
	n := AlertProposal(a, s.policy, buttons)
	groupValues(n.Values, c)
	return n
}

// groupValues adds to a notice's values how many alerts a group has
// (Values["alerts"]) and how many of them fire (Values["firing"]), unless
// it is one alert that fires.
func groupValues(v map[string]string, c incident.AlertGroupCount) {
	if c.Alerts > 1 || c.Firing < c.Alerts {
		v["alerts"], v["firing"] = fmt.Sprint(c.Alerts), fmt.Sprint(c.Firing)
	}
}

// JobProposalRefresh redraws the proposal of an alert group, when alerts
// joined it or resolved, with how many alerts it has and how many fire.
const JobProposalRefresh = "alert.proposal_refresh"

// refreshProposal schedules on sched the redraw of the proposal of the
// group leader leads, for a change of its alert a: keyed by a's episode,
// status and count, so a redelivery schedules it once.
func (s *Service) refreshProposal(ctx context.Context, sched incident.Scheduler, leader int64, a *incident.Alert, now time.Time) error {
	payload, _ := json.Marshal(alertPayload{AlertID: leader})
	key := fmt.Sprintf("alert_proposal_refresh:%d:%d:%d:%s:%d", leader, a.ID, a.FirstAt.UnixNano(), a.Status, a.Count)
	if _, err := sched.Schedule(ctx, incident.Job{Kind: JobProposalRefresh, Key: key, Payload: payload, MaxAttempts: 8}); err != nil {
		return fmt.Errorf("schedule the redraw of the proposal of alert %d: %w", leader, err)
	}
	return nil
}

// runProposalRefresh is the JobProposalRefresh handler: it redraws a
// posted proposal nobody decided, as its group is now. The chat writes
// nothing when the proposal already says it.
func (s *Service) runProposalRefresh(ctx context.Context, payload []byte) error {
	_, a, err := s.jobAlert(ctx, payload, "redraw alert proposal")
	if err != nil || a == nil {
		return err
	}
	return s.redraw(ctx, a, incident.Notice{})
}

// redraw redraws the posted proposal of the alert a leads as its group is
// now, unless it says that already (was), or it was decided (the click
// replaced it) or never posted.
func (s *Service) redraw(ctx context.Context, a *incident.Alert, was incident.Notice) error {
	if a.State != incident.AlertProposed || a.IncidentID != 0 || a.MessageTS == "" || a.ChannelID == "" {
		return nil
	}
	count, err := s.store.CountAlertGroup(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("redraw alert proposal: %w", err)
	}
	n := s.proposal(a, count)
	if maps.Equal(n.Values, was.Values) {
		return nil
	}
	if err := s.chat.UpdateNotice(ctx, a.ChannelID, a.MessageTS, n); err != nil {
		return fmt.Errorf("redraw the proposal of alert %d: %w", a.ID, err)
	}
	return nil
}

// noteProposalResolved follows the resolution of an alert a whose group's
// proposal nobody decided (a leads it, or joined it): the proposal is
// redrawn with how many of the group's alerts still fire and, once none
// does, the group is said to have resolved, so that nobody declares a P1
// and pages for it unknowingly. While one of its alerts fires, the group
// has not resolved. The note is keyed by the leader's episode: a
// redelivery schedules it once; a failure to schedule is returned, so the
// sender delivers again.
func (s *Service) noteProposalResolved(ctx context.Context, a *incident.Alert, now time.Time) error {
	if a.IncidentID != 0 || a.State != incident.AlertProposed {
		return nil
	}
	leader := a
	if a.GroupID != 0 {
		got, err := s.store.GetAlert(ctx, a.GroupID)
		if incident.ErrorCode(err) == incident.ENOTFOUND {
			return nil
		} else if err != nil {
			return fmt.Errorf("find the alert %d leads: %w", a.GroupID, err)
		}
		leader = got
	}
	if leader.IncidentID != 0 || leader.State != incident.AlertProposed || leader.MessageTS == "" {
		return nil
	}
	if err := s.refreshProposal(ctx, s.sched, leader.ID, a, now); err != nil {
		return err
	}
	count, err := s.store.CountAlertGroup(ctx, leader.ID)
	if err != nil {
		return fmt.Errorf("count the alerts of alert %d: %w", leader.ID, err)
	}
	if count.Firing > 0 {
		return nil
	}
	at := now
	if a.ResolvedAt != nil {
		at = *a.ResolvedAt
	}
	payload, _ := json.Marshal(alertPayload{AlertID: leader.ID, At: at})
	if _, err := s.sched.Schedule(ctx, incident.Job{Kind: JobProposalResolved, Payload: payload, MaxAttempts: 8,
		Key: fmt.Sprintf("alert_proposal_resolved:%d:%d", leader.ID, leader.FirstAt.UnixNano())}); err != nil {
		return fmt.Errorf("schedule the note that alert %d resolved: %w", leader.ID, err)
	}
	return nil
}

// JobProposalResolved says, in the channel of an alert's proposal that
// nobody decided, that the alert resolved.
const JobProposalResolved = "alert.proposal_resolved"

// runProposalResolved is the JobProposalResolved handler: it says so only
// while the alert is still resolved and undecided.
func (s *Service) runProposalResolved(ctx context.Context, payload []byte) error {
	p, a, err := s.jobAlert(ctx, payload, "proposed alert resolved")
	if err != nil || a == nil {
		return err
	}
	if a.Status != incident.AlertResolved || a.State != incident.AlertProposed || a.IncidentID != 0 || a.ChannelID == "" || a.ResolvedAt == nil {
		return nil
	}
	count, err := s.store.CountAlertGroup(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("proposed alert resolved: %w", err)
	}
	if count.Firing > 0 {
		return nil // one of its group fires (again)
	}
	at := p.At
	if at.IsZero() || at.Before(*a.ResolvedAt) {
		at = *a.ResolvedAt
	}
	n := incident.Notice{Kind: incident.NoticeAlertProposalResolved, Actor: a.Source, Values: map[string]string{
		"title": a.Title, "source": sourceLabel(a.Source), "after": incident.Since(a.FirstAt, at), "severity": a.Severity.String()}}
	groupValues(n.Values, count)
	if _, err := s.chat.Notify(ctx, a.ChannelID, n); err != nil {
		return fmt.Errorf("say alert %d resolved: %w", a.ID, err)
	}
	return nil
}

func sourceLabel(source string) string { return incident.ProviderName(source) }
