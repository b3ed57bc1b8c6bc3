package comms

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
)

// PublicIncident is an incident as published on a status page.
type PublicIncident struct {
	// Provider names the StatusPage that holds it ("statuspage", "instatus").
	Provider string
	ID       string
	// URL is the public link to the incident, or to the page when the
	// provider has no per-incident link.
	URL    string
	Status incident.PublicStatus
	// Adopted reports that Create, asked to recover, returned an incident
	// an earlier attempt made instead of making one.
	Adopted bool
}

// PublicPost is one public post: the first one opens the public incident,
// later ones add an update to it.
type PublicPost struct {
	// Key is the firebreak incident's key (INC-42). The provider marks the
	// public incident it opens with it, and asked to recover adopts only an
	// incident so marked.
	Key string
	// Name is the public incident's title (used when creating).
	Name   string
	Status incident.PublicStatus
	Body   string
	// Components maps a provider component id to its new state.
	Components map[string]incident.ComponentStatus
	// Impact is the overall impact for providers that take one: none,
	// minor, major or critical.
	Impact string
	// Notify tells subscribers (e-mail, SMS, webhooks).
	Notify bool
	// StartedAt is when the incident began; a provider asked to recover
	// looks for incidents created since then.
	StartedAt time.Time
	// RequestedAt is when the post was asked for (the click, or the
	// clock's step). A provider asked to recover adopts only an incident or
	// an update made since then, less RecoverSkew; zero means since
	// StartedAt.
	RequestedAt time.Time
}

// RecoverSkew is how much earlier than PublicPost.RequestedAt a provider's
// clock may date what an interrupted attempt made.
const RecoverSkew = time.Minute

// RecoverSince is the earliest time at which what an interrupted attempt
// of post made can be dated: RequestedAt (else StartedAt) less RecoverSkew.
func (p PublicPost) RecoverSince() time.Time {
	since := p.StartedAt
	if p.RequestedAt.After(since) {
		since = p.RequestedAt
	}
	return since.Add(-RecoverSkew)
}

// StatusPage publishes incidents on a public status page (Atlassian
// Statuspage, Instatus). Implementations return *incident.Error values: EFORBIDDEN
// for refused credentials, ENOTFOUND for an unknown page or incident,
// EINVALID for a post the provider rejects, EUNAVAILABLE (with a RetryAfter
// method when the provider asked us to wait) when it is down or limiting.
//
// A post may be interrupted after the provider acted and before the answer
// arrived. A retry passes recover, and the implementation first looks for
// the incident (or the update) the interrupted attempt made, returning it
// instead of posting twice. Any post that would open the public incident
// after a create was attempted passes recover too, whichever post
// attempted it.
type StatusPage interface {
	// Name is the provider's key, as the policy's statuspage.provider
	// names it: "statuspage" or "instatus".
	Name() string
	// Title names the provider to people: "Statuspage", "Instatus".
	Title() string
	// Create opens a public incident, marked with post.Key. With recover
	// it returns, marked Adopted, an unresolved incident carrying that mark
	// created since post.RecoverSince, if any.
	Create(ctx context.Context, post PublicPost, recover bool) (PublicIncident, error)
	// Update adds an update to a public incident. With recover it returns
	// without posting when an update made since post.RecoverSince has the
	// same body and status, the latest or not.
	Update(ctx context.Context, ref PublicIncident, post PublicPost, recover bool) (PublicIncident, error)
	// SetComponents changes the incident's components' states without a
	// new public message.
	SetComponents(ctx context.Context, ref PublicIncident, components map[string]incident.ComponentStatus) error
}

// statusPageAttempts bounds a post's retries; with the engine's backoff
// they span about two hours.
const statusPageAttempts = 12

// maxPublicBody bounds a public post's text.
const maxPublicBody = 5000

type postPayload struct {
	IncidentID int64  `json:"incident_id"`
	Kind       string `json:"kind"`
	Ref        string `json:"ref,omitempty"`
	Body       string `json:"body,omitempty"`
	Actor      string `json:"actor,omitempty"`
	Round      int    `json:"round,omitempty"`
	// At is when the post was asked for (Unix seconds), kept through
	// retries and Retry clicks: recovering looks only at what was posted
	// since.
	At int64 `json:"at,omitempty"`
}

func (p postPayload) source() string { return "statuspage:" + p.Kind + ":" + p.Ref }

// Publisher posts on the status page as durable jobs, one per post, and
// says in the channel when a post is up or why it failed: the first post,
// updates, component states and the resolution notice. An incident's posts
// run one at a time, on any number of replicas (holdPosts).
type Publisher struct {
	*base
}

// StatusPageFor returns the status page that publishes the incident's
// service and the service's mapping, and false when none is configured. A
// drill never reaches the public status page, and neither does an incident
// whose service is not mapped to the status page (no provider nor
// components in the policy).
func (pub *Publisher) StatusPageFor(inc *incident.Incident) (StatusPage, incident.StatusPageService, bool) {
	sp, known := pub.policy.Services[inc.Service]
	svc := sp.StatusPage
	if inc.Drill || inc.Service == "" || !known || (svc.Provider == "" && len(svc.Components) == 0) {
		return nil, svc, false
	}
	for _, sp := range pub.pages {
		if svc.Provider == "" || sp.Name() == svc.Provider {
			return sp, svc, true
		}
	}
	return nil, svc, false
}

// planComponents brings the public components in line with the incident's
// severity and status, when it is public: open, or just resolved
// (operational). The post's key is the state and the change's time, so a
// retried hook plans it once, and each change its own.
func (pub *Publisher) planComponents(ctx context.Context, inc *incident.Incident) error {
	if inc.PublicID == "" || inc.Status == incident.StatusClosed {
		return nil
	}
	cs := componentStatus(inc, pub.policy)
	return pub.schedulePost(ctx, postPayload{IncidentID: inc.ID, Kind: incident.PostComponents, Ref: string(cs) + ":" + strconv.FormatInt(inc.UpdatedAt.UnixNano(), 10)})
}

func (pub *Publisher) schedulePost(ctx context.Context, p postPayload) error {
	payload, _ := json.Marshal(p)
	key := fmt.Sprintf("statuspage:%d:%s:%s:%d", p.IncidentID, p.Kind, p.Ref, p.Round)
	if _, err := pub.sched.Schedule(ctx, incident.Job{Kind: JobStatusPagePost, Key: key, Payload: payload, MaxAttempts: statusPageAttempts, Urgent: true}); err != nil {
		return fmt.Errorf("schedule the status page post: %w", err)
	}
	return nil
}

// PublishInput is a request to post on the status page.
type PublishInput struct {
	// Kind is PostAcknowledge, PostUpdate, PostStillInvestigating or
	// PostResolution; Ref is its argument (the update's id).
	Kind string
	Ref  string
	// Body is the public text. Empty posts the text the proposal showed
	// (Shown), else the template's draft as it reads when the post is
	// asked for.
	Body string
	// Shown is what the proposal of a Publish button showed, as the
	// button carries it (PublishShown).
	Shown string
	Actor string
}

// maxButtonValue is the most a button's value holds (Slack's limit, 2000
// characters; counted here in bytes, which is never fewer).
const maxButtonValue = 2000

// publishValue is the value of a Publish or Edit button: "id|kind|ref",
// then what its proposal shows, so that a click posts that text and the
// edit form starts from it: "t:" and the text, or, for a text too long
// for a button, "h:" and its fingerprint.
func publishValue(id int64, kind, ref, shown string) string {
	v := fmt.Sprintf("%d|%s|%s", id, kind, ref)
	if shown == "" {
		return v
	}
	if t := v + "|t:" + shown; len(t) <= maxButtonValue {
		return t
	}
	return v + "|h:" + fingerprint(shown)
}

// fingerprint identifies a text too long to carry.
func fingerprint(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:12])
}

// ParsePublishValue reads a Publish or Edit button's value: "id|kind|ref",
// and what its proposal showed after it (PublishShown), when it carries it.
func ParsePublishValue(v string) (id int64, kind, ref string, err error) {
	parts := strings.SplitN(v, "|", 4)
	if len(parts) < 3 {
		return 0, "", "", incident.Errorf(incident.EINVALID, "The button does not name a status page post.")
	}
	id, perr := strconv.ParseInt(parts[0], 10, 64)
	if perr != nil {
		return 0, "", "", incident.Errorf(incident.EINVALID, "The button does not name an incident.")
	}
	return id, parts[1], parts[2], nil
}

// PublishShown returns what the proposal of a Publish or Edit button
// showed, as its value carries it, for PublishInput.Shown; "" for a button
// that carries nothing (posted before buttons carried it).
func PublishShown(v string) string {
	parts := strings.SplitN(v, "|", 4)
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}

// ShownText returns the text the proposal of a Publish or Edit button
// showed, for the edit form to start from, and false when the value does
// not carry it (too long for a button, or an older button).
func ShownText(v string) (string, bool) {
	text, ok := strings.CutPrefix(PublishShown(v), "t:")
	if !ok || strings.TrimSpace(text) == "" {
		return "", false
	}
	return text, true
}

// Publish posts to the status page, from a button or the edit modal. The
// post runs as a durable job: the channel hears when it is up, or why it
// failed. It returns false when the same post was already requested, so a
// double click posts once. The text is posted as customers may read it:
// the chat's mentions, channels and links in it are written out. A post
// without a text of its own posts what its proposal showed, else the
// draft as it reads now; either way the text is fixed when the post is
// asked for, and every attempt sends that text. Errors are CheckPublish's,
// and ECONFLICT when a proposal too long to carry its text no longer
// matches the draft.
func (pub *Publisher) Publish(ctx context.Context, id int64, in PublishInput) (bool, error) {
	in.Body = strings.TrimSpace(publicText(in.Body))
	if err := pub.CheckPublish(ctx, id, in); err != nil {
		return false, err
	}
	if in.Body == "" {
		body, err := pub.shownDraft(ctx, id, in)
		if err != nil {
			return false, err
		}
		in.Body = body
	}
	p := postPayload{IncidentID: id, Kind: in.Kind, Ref: in.Ref, Body: in.Body, Actor: in.Actor, At: pub.clock.Now().Unix()}
	payload, _ := json.Marshal(p)
	key := fmt.Sprintf("statuspage:%d:%s:%s:0", id, in.Kind, in.Ref)
	if in.Kind == incident.PostAcknowledge {
		key = fmt.Sprintf("statuspage:%d:first", id)
	}
	scheduled, err := pub.sched.Schedule(ctx, incident.Job{Kind: JobStatusPagePost, Key: key, Payload: payload, MaxAttempts: statusPageAttempts, Urgent: true})
	if err != nil {
		return false, fmt.Errorf("schedule the status page post: %w", err)
	}
	return scheduled, nil
}

// CheckPublish says whether Publish would refuse the post, without posting:
// the edit form asks before it opens, so nobody writes a post to be told
// no. EFORBIDDEN when in.Actor may not publish; EINVALID for an unknown
// kind of post, a text that is too long, a drill, or no status page
// configured for the incident; ECONFLICT for a first post of an incident
// already public, a post other than the resolution notice once it is
// resolved, or a resolution notice of an incident never public.
func (pub *Publisher) CheckPublish(ctx context.Context, id int64, in PublishInput) error {
	switch in.Kind {
	case incident.PostAcknowledge, incident.PostUpdate, incident.PostStillInvestigating, incident.PostResolution:
	default:
		return incident.Errorf(incident.EINVALID, "Unknown kind of status page post %q.", in.Kind)
	}
	if utf8.RuneCountInString(strings.TrimSpace(in.Body)) > maxPublicBody {
		return incident.Errorf(incident.EINVALID, "The status page text is too long; keep it within %d characters.", maxPublicBody)
	}
	inc, err := pub.store.GetIncident(ctx, id)
	if err != nil {
		return err
	}
	if err := pub.authorizePublish(ctx, inc, in.Actor); err != nil {
		return err
	}
	if inc.Drill {
		return incident.Errorf(incident.EINVALID, "%s is a drill; drills never post on the public status page.", inc.Key())
	}
	if _, _, ok := pub.StatusPageFor(inc); !ok {
		return incident.Errorf(incident.EINVALID, "No status page is configured for %s: set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID, or INSTATUS_API_KEY and INSTATUS_PAGE_ID.", inc.Key())
	}
	if in.Kind == incident.PostAcknowledge && inc.PublicID != "" {
		return incident.Errorf(incident.ECONFLICT, "%s is already on the status page: %s", inc.Key(), inc.PublicURL)
	}
	switch {
	case in.Kind != incident.PostResolution && !inc.Status.Open():
		return incident.Errorf(incident.ECONFLICT, "%s is %s; only the resolution notice can still be posted.", inc.Key(), strings.ToLower(inc.Status.Label()))
	case in.Kind == incident.PostResolution && inc.Status.Open():
		return incident.Errorf(incident.ECONFLICT, "%s is not resolved yet; resolve it first, then post the resolution notice.", inc.Key())
	case in.Kind == incident.PostResolution && inc.PublicID == "":
		return incident.Errorf(incident.ECONFLICT, "%s was never on the status page: there is no public incident to resolve.", inc.Key())
	}
	return nil
}

// shownDraft is the text of a post asked for without words of its own:
// what its proposal showed, as the button carries it, else the draft
// rendered now. A proposal too long for its button carries the text's
// fingerprint, and the draft rendered now must still be that text.
func (pub *Publisher) shownDraft(ctx context.Context, id int64, in PublishInput) (string, error) {
	if text, ok := strings.CutPrefix(in.Shown, "t:"); ok && strings.TrimSpace(text) != "" {
		return strings.TrimSpace(text), nil
	}
	body, err := pub.Draft(ctx, id, in.Kind, in.Ref)
	if err != nil {
		return "", err
	}
	if fp, ok := strings.CutPrefix(in.Shown, "h:"); ok && fp != fingerprint(body) {
		return "", incident.Errorf(incident.ECONFLICT, "The draft changed since it was shown, so it was not posted: use Edit to read the new one and publish it.")
	}
	if n := utf8.RuneCountInString(body); n > maxPublicBody {
		return "", incident.Errorf(incident.EINVALID, "The draft is too long for the status page (%d characters; %d at most): use Edit to shorten it.", n, maxPublicBody)
	}
	return body, nil
}

// EditText returns the text the edit form of a post starts from, as the
// Edit button's value (shown, PublishShown) names it: the text it carries;
// for a text too long for a button, the words of the post whose failure
// offered the button (a refused post's words, found by their fingerprint
// in the record of its failure); else the draft as it reads now.
func (pub *Publisher) EditText(ctx context.Context, id int64, kind, ref, shown string) (string, error) {
	if text, ok := strings.CutPrefix(shown, "t:"); ok && strings.TrimSpace(text) != "" {
		return text, nil
	}
	if fp, ok := strings.CutPrefix(shown, "h:"); ok && fp != "" {
		_, events, err := pub.timelineBySource(ctx, id)
		if err != nil {
			return "", err
		}
		for i := len(events) - 1; i >= 0; i-- {
			d, ok := events[i].Payload.(incident.ProviderFailureData)
			if ok && events[i].Kind == incident.EventProviderFailure && d.Kind == kind && d.Ref == ref && d.Body != "" && fingerprint(d.Body) == fp {
				return d.Body, nil
			}
		}
	}
	return pub.Draft(ctx, id, kind, ref)
}

// Draft returns the pre-filled text of a status page post, for the edit
// modal.
func (pub *Publisher) Draft(ctx context.Context, id int64, kind, ref string) (string, error) {
	inc, err := pub.store.GetIncident(ctx, id)
	if err != nil {
		return "", err
	}
	return pub.draftBody(ctx, inc, kind, ref)
}

// The lease of an incident's status page posts. A post holds it from its
// look at the timeline, through the provider's look for what an earlier
// attempt posted and the post itself, to the record of what it posted: two
// attempts at one post (a background retry and a Retry click's), or two
// posts that would each open the public incident, never run at once, on
// any replica (ADR 0029).
const (
	// postLease is how long a post may hold the lease: a holder killed
	// mid-post keeps the others waiting this long at most.
	postLease = 2 * time.Minute
	// postWork bounds the work done under the lease; the rest of postLease
	// covers two replicas' clocks disagreeing.
	postWork = postLease - 30*time.Second
	// postBusyWait is how long a post waits while another holds the lease.
	postBusyWait = 2 * time.Second
)

// holdPosts takes the lease of the incident's status page posts and
// returns its release. While another post holds it, the error asks the job
// engine to run this one again a little later.
//
// A job's post holds the lease as the job: the job's next run, after a run
// killed mid-post or stopped cut off from the database, takes it back at
// once and looks for what that run posted, while other posts wait. A
// stopped run leaves its lease to that rerun: a release sent as the run
// stops could reach the database late, after the rerun took the lease
// back, and end the rerun's.
func (pub *Publisher) holdPosts(ctx context.Context, id int64) (release func(), err error) {
	key, holder := "statuspage:"+strconv.FormatInt(id, 10), rand.Text()
	job := incident.JobID(ctx)
	if job != 0 {
		holder = "job:" + strconv.FormatInt(job, 10)
	}
	ok, err := pub.store.AcquireLease(ctx, key, holder, postLease)
	if err != nil {
		return nil, fmt.Errorf("status page post: %w", err)
	}
	if !ok {
		return nil, incident.RetryLater(postBusyWait, "another status page post of incident %d is under way", id)
	}
	return func() {
		if job != 0 && ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := pub.store.ReleaseLease(ctx, key, holder); err != nil {
			pub.log.WarnContext(ctx, "could not release the status page lease; it ends by itself", "incident", id, "err", err)
		}
	}, nil
}

// runPost is the JobStatusPagePost handler. It reads the incident and its
// timeline only once it holds the lease, so it sees what a post that held
// it before recorded.
func (pub *Publisher) runPost(ctx context.Context, payload []byte) error {
	var p postPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode status page post: %w: %w", err, incident.ErrJobCancel)
	}
	release, err := pub.holdPosts(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, postWork)
	defer cancel()
	inc, err := pub.store.GetIncident(ctx, p.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("status page post: %w", err)
	}
	sp, svc, ok := pub.StatusPageFor(inc)
	if !ok {
		return nil
	}
	src, events, err := pub.timelineBySource(ctx, inc.ID)
	if err != nil {
		return err
	}
	if _, done := src[p.source()]; done {
		return nil // a redelivered job, or a retry that raced the first
	}
	if p.Kind == incident.PostAcknowledge && inc.PublicID != "" {
		// Another post opened the public incident (adopting what this one
		// made, when it was lost after the provider acted): the first post
		// has nothing left to say.
		return nil
	}
	attempt, maxAttempts := incident.JobAttempt(ctx)
	if why := dropReason(inc, p, src, events); why != "" {
		return pub.dropPost(ctx, inc, sp, p, why, events, attempt)
	}
	j := postJob{p: p, inc: inc, sp: sp, cs: componentStatus(inc, pub.policy), components: map[string]incident.ComponentStatus{}, now: pub.clock.Now(),
		events: events, attempt: attempt, maxAttempts: maxAttempts}
	if p.Kind == incident.PostResolution {
		j.cs = incident.ComponentOperational
	}
	for _, c := range svc.Components {
		j.components[c] = j.cs
	}
	if p.Kind == incident.PostComponents {
		if inc.PublicID == "" || len(j.components) == 0 || lastComponents(events) == j.cs {
			return nil
		}
		return pub.postComponents(ctx, j)
	}
	return pub.postIncident(ctx, j)
}

// Why a post asked for earlier is not made (NoticeStatusPageDropped's
// Values["why"]).
const (
	// dropDeclined: the incident was marked not customer-facing since.
	dropDeclined = "declined"
	// dropNotOpen: the incident is resolved or closed, and the post is not
	// the resolution notice, or would open the public incident.
	dropNotOpen = "not_open"
	// dropReopened: a resolution notice, the incident open again.
	dropReopened = "reopened"
	// dropResolutionPosted: the resolution notice went out since.
	dropResolutionPosted = "resolution_posted"
)

// NoticeStatusPageDropped: the status page post Values["post"] on
// Values["provider"] was not made and will not be: Values["why"] is
// "declined" (marked not customer-facing since it was asked for),
// "not_open" (the incident is Values["status"], "resolved" or "closed"),
// "reopened" (a resolution notice of an incident open again) or
// "resolution_posted" (the resolution notice went out since it was asked
// for). Values["maybe_opened"] is "true" when an interrupted attempt may
// have opened a public incident all the same; Values["maybe_resolved"],
// for a resolution notice dropped as "reopened", when one may have left
// the public incident resolved (the reopen offer follows).
const NoticeStatusPageDropped incident.NoticeKind = "statuspage_dropped"

// requestedAt is when the post was asked for, to the second; zero for
// payloads queued before it was recorded.
func (p postPayload) requestedAt() time.Time {
	if p.At <= 0 {
		return time.Time{}
	}
	return time.Unix(p.At, 0).UTC()
}

// dropReason says why post p must not go out as the incident now stands,
// or "" when it may. It is asked when the post runs, which may be long
// after the click (a Statuspage outage, the engine's backoff): what
// happened since decides. What happened in the second of the request, or
// at any time for a post queued before requests were timed, counts as
// since.
func dropReason(inc *incident.Incident, p postPayload, src map[string]incident.TimelineEvent, events []incident.TimelineEvent) string {
	if p.Kind == incident.PostComponents {
		return ""
	}
	asked := p.requestedAt()
	if ev, ok := src[srcDeclined]; ok && !ev.At.Before(asked) {
		return dropDeclined
	}
	open := inc.Status.Open()
	switch {
	case p.Kind == incident.PostResolution && open:
		return dropReopened
	case p.Kind != incident.PostResolution && !open, inc.PublicID == "" && !open:
		// Never an "investigating" incident on the page for one that is
		// over, nor a public incident opened once it is.
		return dropNotOpen
	}
	if p.Kind != incident.PostResolution {
		for _, ev := range events {
			if ev.Kind == incident.EventStatusPage && statusPagePost(ev).Kind == incident.PostResolution && !ev.At.Before(asked) {
				return dropResolutionPosted
			}
		}
	}
	return ""
}

// dropMessage says why nothing was posted, to the person who asked again.
func dropMessage(inc *incident.Incident, why string) string {
	switch why {
	case dropDeclined:
		return fmt.Sprintf("Nothing was posted: %s was marked not customer-facing after this post was asked for.", inc.Key())
	case dropReopened:
		return fmt.Sprintf("Nothing was posted: %s was reopened; post the resolution notice once it is resolved again (if an earlier attempt reached the status page, the channel offers the update that reopens it there).", inc.Key())
	case dropResolutionPosted:
		return fmt.Sprintf("Nothing was posted: the resolution notice of %s went out after this post was asked for.", inc.Key())
	}
	return fmt.Sprintf("Nothing was posted: %s is %s; only the resolution notice of a public incident can still be posted.", inc.Key(), strings.ToLower(inc.Status.Label()))
}

// dropPost ends a post that must not go out: the channel hears once why
// nothing was posted, and the job engine does not retry it.
//
// A resolution notice dropped because the incident was reopened, after an
// attempt that may have reached the provider (its failure is recorded, or
// this is a retry), may have left the public incident resolved over
// components back in outage: the channel hears so, and is offered the
// update that reopens it.
func (pub *Publisher) dropPost(ctx context.Context, inc *incident.Incident, sp StatusPage, p postPayload, why string, events []incident.TimelineEvent, attempt int) error {
	n := incident.Notice{Kind: NoticeStatusPageDropped, Incident: inc.Key(), Actor: "bot", Values: map[string]string{
		"post": p.Kind, "why": why, "status": strings.ToLower(inc.Status.Label()), "provider": sp.Title()}}
	if first, _ := createAttempts(events, p.source()); inc.PublicID == "" && !first.IsZero() {
		n.Values["maybe_opened"] = "true"
	}
	if why == dropReopened && inc.PublicID != "" && (attempt > 1 || postFailed(events, p)) {
		n.Values["maybe_resolved"] = "true"
		if err := scheduleComms(ctx, pub.sched, commsPayload{IncidentID: inc.ID, Step: stepOfferReopen, Ref: lateRef(p), Late: true}, time.Time{}); err != nil {
			return err
		}
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventComms, Actor: "bot", At: pub.clock.Now(), Text: pub.noticeText(n),
		SourceID: fmt.Sprintf("statuspage:dropped:%s:%s:%d:%d", p.Kind, p.Ref, p.Round, p.At)}
	switch err := pub.store.AddTimelineEvent(ctx, &ev); {
	case err == nil:
		if err := pub.core.Notify(ctx, inc, n); err != nil {
			return fmt.Errorf("status page post: say why nothing was posted: %w", err)
		}
	case incident.ErrorCode(err) != incident.ECONFLICT: // ECONFLICT: said by an earlier run
		return fmt.Errorf("status page post: %w", err)
	}
	pub.log.InfoContext(ctx, "status page post not made", "incident", inc.Key(), "kind", p.Kind, "why", why)
	return fmt.Errorf("status page %s post for %s: %s: %w", p.Kind, inc.Key(), dropMessage(inc, why), incident.ErrJobCancel)
}

// postFailed reports whether a failure of post p (any round) is recorded.
func postFailed(events []incident.TimelineEvent, p postPayload) bool {
	for _, ev := range events {
		if d, ok := ev.Payload.(incident.ProviderFailureData); ok && ev.Kind == incident.EventProviderFailure && d.Kind == p.Kind && d.Ref == p.Ref {
			return true
		}
	}
	return false
}

// lateRef is the ref of the reopen offer a resolution notice plans (Late):
// one per notice asked for.
func lateRef(p postPayload) string {
	return "n" + strconv.FormatInt(p.At, 10) + "-" + strconv.Itoa(p.Round)
}

// postJob is one status page post to make.
type postJob struct {
	p                    postPayload
	inc                  *incident.Incident
	sp                   StatusPage
	cs                   incident.ComponentStatus
	components           map[string]incident.ComponentStatus
	attempt, maxAttempts int
	now                  time.Time
	// events is the incident's timeline as the post found it.
	events []incident.TimelineEvent
}

// ref is the incident's public incident.
func (j postJob) ref() PublicIncident {
	return PublicIncident{Provider: j.inc.PublicProvider, ID: j.inc.PublicID, URL: j.inc.PublicURL}
}

// postComponents sets the status of the service's components alone.
func (pub *Publisher) postComponents(ctx context.Context, j postJob) error {
	inc, p := j.inc, j.p
	if err := j.sp.SetComponents(ctx, j.ref(), j.components); err != nil {
		return pub.statusPageFailed(ctx, inc, j.sp, p, err, j.attempt, j.maxAttempts)
	}
	n := incident.Notice{Kind: incident.NoticeStatusPageComponents, Incident: inc.Key(), Actor: orBot(p.Actor), Values: map[string]string{"components": j.cs.Label()}}
	return pub.recordPublic(ctx, inc, p, PublicIncident{}, n, j.now, incident.StatusPageData{Components: j.cs})
}

// postIncident creates or updates the public incident, records it and
// plans the reminder of a stale page.
func (pub *Publisher) postIncident(ctx context.Context, j postJob) error {
	inc, p := j.inc, j.p
	body := p.Body
	if body == "" {
		// Queued before posts carried their text.
		var err error
		if body, err = pub.draftBody(ctx, inc, p.Kind, p.Ref); err != nil {
			return err
		}
	}
	post := pub.publicPost(inc, p.Kind, body, j.components)
	if p.At > 0 {
		post.RequestedAt = time.Unix(p.At, 0).UTC()
	}
	if inc.PublicID == "" {
		if err := pub.noteCreate(ctx, j); err != nil {
			return err
		}
	}
	got, err := pub.publish(ctx, j, post)
	if err != nil {
		return pub.statusPageFailed(ctx, inc, j.sp, p, err, j.attempt, j.maxAttempts)
	}
	n := incident.Notice{Kind: incident.NoticeStatusPagePosted, Incident: inc.Key(), Actor: orBot(p.Actor), Values: map[string]string{
		"post": p.Kind, "provider": j.sp.Title(), "status": string(post.Status), "url": got.URL, "id": got.ID}}
	if inc.PublicID == "" {
		n.Values["first"], n.Values["after"] = "true", incident.Since(inc.DeclaredAt, j.now)
	}
	data := incident.StatusPageData{Status: post.Status, Components: j.cs}
	if err := pub.recordPublic(ctx, inc, p, got, n, j.now, data); err != nil {
		return err
	}
	if p.Kind != incident.PostResolution {
		return pub.planStale(ctx, inc, j.now)
	}
	return nil
}

// publicPost is the post of kind about inc.
func (pub *Publisher) publicPost(inc *incident.Incident, kind, body string, components map[string]incident.ComponentStatus) PublicPost {
	post := PublicPost{Key: inc.Key(), Name: publicName(inc, pub.policy), Status: publicStatus(inc.Status), Body: body, Components: components,
		Impact: publicImpact(inc.Severity), Notify: pub.policy.Comms.Notify, StartedAt: inc.DeclaredAt}
	switch {
	case kind == incident.PostResolution:
		post.Status = incident.PublicResolved
	case kind == incident.PostAcknowledge && inc.Status.Open():
		// The first words: investigating, even when already mitigated.
		// A resolved or closed incident stays resolved (runPost posts
		// nothing for it).
		post.Status = incident.PublicInvestigating
	}
	return post
}

// srcCreateAttempt starts the source id of the timeline's note that a post
// is about to open the public incident; the post's kind and ref follow.
const srcCreateAttempt = "statuspage:create:"

// noteCreate notes on the timeline, before the provider is asked, that the
// post is about to open the public incident. A post that finds the note and
// no public id recorded knows a create may have gone through, whichever
// post made it, and asks the provider to recover it. The first attempt's
// note stays: its time bounds the look back.
func (pub *Publisher) noteCreate(ctx context.Context, j postJob) error {
	ev := incident.TimelineEvent{IncidentID: j.inc.ID, Kind: incident.EventComms, Actor: "bot", At: j.now,
		SourceID: srcCreateAttempt + j.p.Kind + ":" + j.p.Ref, Text: "Opening the public incident on " + j.sp.Title()}
	if err := pub.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("status page post: note the create: %w", err)
	}
	return nil
}

// createAttempts reads the notes of creates attempted, none recorded: when
// the first was made, and whether another post than own made one.
func createAttempts(events []incident.TimelineEvent, own string) (first time.Time, other bool) {
	for _, ev := range events {
		rest, ok := strings.CutPrefix(ev.SourceID, srcCreateAttempt)
		if !ok || ev.Kind != incident.EventComms {
			continue
		}
		if first.IsZero() || ev.At.Before(first) {
			first = ev.At
		}
		if "statuspage:"+rest != own {
			other = true
		}
	}
	return first, other
}

// publish creates the public incident, or updates it once created. A retry
// asks the provider to recover a post that may have gone through, and so
// does any post that would create after a create was attempted: it adopts
// the public incident another post made, if that post was lost after the
// provider acted, and posts onto it.
func (pub *Publisher) publish(ctx context.Context, j postJob, post PublicPost) (PublicIncident, error) {
	inc := j.inc
	recover := j.attempt > 1 || j.p.Round > 0
	var got PublicIncident
	var err error
	if inc.PublicID == "" {
		first, other := createAttempts(j.events, j.p.source())
		if !first.IsZero() {
			recover = true
			if !post.RequestedAt.IsZero() && first.Before(post.RequestedAt) {
				post.RequestedAt = first
			}
		}
		got, err = j.sp.Create(ctx, post, recover)
		if err == nil && got.Adopted && other {
			// Another post's create, perhaps: post this one onto it,
			// unless this post's words are among its updates already.
			got.Provider = j.sp.Name()
			got, err = j.sp.Update(ctx, got, post, true)
		}
	} else {
		got, err = j.sp.Update(ctx, j.ref(), post, recover)
	}
	if err != nil {
		return got, err
	}
	got.Provider = j.sp.Name()
	if got.ID == "" {
		got.ID = inc.PublicID
	}
	if got.URL == "" {
		got.URL = inc.PublicURL
	}
	return got, nil
}

// recordPublic stores a public post on the incident and its timeline, in
// one transaction, and says it in the channel.
func (pub *Publisher) recordPublic(ctx context.Context, inc *incident.Incident, p postPayload, got PublicIncident, n incident.Notice, now time.Time, data incident.StatusPageData) error {
	line := pub.noticeText(n)
	data.Kind = p.Kind
	data.Provider = got.Provider
	if got.ID != "" {
		data.PublicID, data.URL = got.ID, got.URL
	}
	updated, err := pub.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		if got.ID != "" && i.PublicID == "" {
			i.PublicProvider, i.PublicID, i.PublicURL = got.Provider, got.ID, got.URL
		}
		return []incident.TimelineEvent{{Kind: incident.EventStatusPage, Actor: orBot(p.Actor), At: now, Key: p.Kind != incident.PostComponents, Text: line,
			SourceID: p.source(), Payload: data}}, nil
	})
	if incident.ErrorCode(err) == incident.ECONFLICT {
		return nil // recorded by a run that raced this one
	} else if err != nil {
		return fmt.Errorf("record the status page post: %w", err)
	}
	if p.Kind == incident.PostResolution && updated.Status.Open() {
		// Reopened while the notice was on its way: the reopen found the
		// public incident open, and it now reads resolved.
		if err := scheduleComms(ctx, pub.sched, commsPayload{IncidentID: inc.ID, Step: stepOfferReopen, Ref: lateRef(p), Late: true}, time.Time{}); err != nil {
			return err
		}
	}
	return pub.core.Notify(ctx, updated, n)
}

// statusPageFailed says in the channel, once per post and round, that the
// post failed and why, with a Retry button; a refusal is final, anything
// else is retried with backoff by the job engine.
func (pub *Publisher) statusPageFailed(ctx context.Context, inc *incident.Incident, sp StatusPage, p postPayload, cause error, attempt, maxAttempts int) error {
	code := incident.ErrorCode(cause)
	final := code == incident.EINVALID || code == incident.EFORBIDDEN || code == incident.ENOTFOUND
	last := final || (maxAttempts > 0 && attempt >= maxAttempts)
	pub.log.WarnContext(ctx, "status page post failed", "incident", inc.Key(), "kind", p.Kind, "attempt", attempt, "err", cause)
	if inc.ChannelID != "" && (attempt <= 1 || last) {
		source := failSource(p)
		if last && !final {
			source += ":last"
		}
		retry := "background"
		switch {
		case final:
			retry = "final"
		case last:
			retry = "gave_up"
		}
		ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventProviderFailure, Actor: sp.Name(), At: pub.clock.Now(), SourceID: source,
			Text: "Status page post failed: " + incident.ErrorMessage(cause), Payload: incident.ProviderFailureData{Kind: p.Kind, Ref: p.Ref, Body: p.Body}}
		if err := pub.store.AddTimelineEvent(ctx, &ev); err == nil {
			value := fmt.Sprintf("%d|%s|%s|%d", inc.ID, p.Kind, p.Ref, p.Round+1)
			if p.At > 0 {
				value += "|" + strconv.FormatInt(p.At, 10)
			}
			n := incident.Notice{Kind: incident.NoticeStatusPageFailed, Incident: inc.Key(), Actor: sp.Name(),
				Values:  map[string]string{"provider": sp.Title(), "error": incident.ErrorMessage(cause), "retry": retry},
				Buttons: []incident.Button{{Action: incident.ActionStatusPageRetry, Text: "Retry", Value: value, Style: "danger"}}}
			if final && p.Kind != incident.PostComponents {
				// Retry sends the same words; Edit starts from them, and
				// what is submitted is a post of its own.
				n.Buttons = append(n.Buttons, incident.Button{Action: incident.ActionStatusPageEdit, Text: "Edit", Value: publishValue(inc.ID, p.Kind, p.Ref, p.Body)})
			}
			if err := pub.notify(ctx, inc, n); err != nil {
				pub.log.WarnContext(ctx, "could not report the failed status page post", "incident", inc.Key(), "err", err)
			}
		}
	}
	if final {
		return fmt.Errorf("status page post for %s: %w: %w", inc.Key(), cause, incident.ErrJobCancel)
	}
	return fmt.Errorf("status page post for %s: %w", inc.Key(), cause)
}

// RetryStatusPage posts again after a failure, from the Retry button. The
// retry first looks for what an earlier attempt may have posted.
func (pub *Publisher) RetryStatusPage(ctx context.Context, value, actor string) error {
	// id|kind|ref|round, then when the post was first asked for (buttons
	// posted before it was added lack it).
	parts := strings.Split(value, "|")
	if len(parts) != 4 && len(parts) != 5 {
		return incident.Errorf(incident.EINVALID, "The button does not name a status page post.")
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	round, err2 := strconv.Atoi(parts[3])
	var at int64
	var err3 error
	if len(parts) == 5 {
		at, err3 = strconv.ParseInt(parts[4], 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil {
		return incident.Errorf(incident.EINVALID, "The button does not name a status page post.")
	}
	inc, err := pub.store.GetIncident(ctx, id)
	if err != nil {
		return err
	}
	if err := pub.authorizePublish(ctx, inc, actor); err != nil {
		return err
	}
	p := postPayload{IncidentID: id, Kind: parts[1], Ref: parts[2], Actor: actor, Round: round, At: at}
	src, events, err := pub.timelineBySource(ctx, id)
	if err != nil {
		return err
	}
	if _, done := src[p.source()]; done {
		return incident.Errorf(incident.ECONFLICT, "That post is already on the status page.")
	}
	if why := dropReason(inc, p, src, events); why != "" {
		return incident.Errorf(incident.ECONFLICT, "%s", dropMessage(inc, why))
	}
	prev := p
	prev.Round--
	p.Body = failedBody(events, prev)
	return pub.schedulePost(ctx, p)
}

// failedBody returns the words a failed post sent, from the record of its
// failure (failSource): the latest, for a button that does not say when
// the post was asked for; any record made before records carried it.
func failedBody(events []incident.TimelineEvent, p postPayload) string {
	base := fmt.Sprintf("statuspage:fail:%s:%s:%d", p.Kind, p.Ref, p.Round)
	var body string
	for _, ev := range events {
		rest, ok := strings.CutPrefix(ev.SourceID, base)
		if !ok {
			continue
		}
		rest = strings.TrimSuffix(rest, ":last")
		if rest != "" && (!strings.HasPrefix(rest, ":") || p.At > 0 && rest != ":"+strconv.FormatInt(p.At, 10)) {
			continue // another round (":10" for ":1"), or another request's
		}
		d, _ := ev.Payload.(incident.ProviderFailureData)
		body = d.Body
	}
	return body
}

// failSource is the source id of the record of a post's failure: once per
// post (asked for at p.At) and round, whichever attempt failed, so a post
// asked for again (corrected with Edit) has its own.
func failSource(p postPayload) string {
	s := fmt.Sprintf("statuspage:fail:%s:%s:%d", p.Kind, p.Ref, p.Round)
	if p.At > 0 {
		s += ":" + strconv.FormatInt(p.At, 10)
	}
	return s
}

// lastComponents returns the component state last posted.
func lastComponents(events []incident.TimelineEvent) incident.ComponentStatus {
	var cs incident.ComponentStatus
	for _, ev := range events {
		if d, ok := ev.Payload.(incident.StatusPageData); ok && d.Components != "" {
			cs = d.Components
		}
	}
	return cs
}

// publicName is the public incident's title: what customers use, never
// the internal title. A private incident is named as any incident of its
// service: its redacted name ("Private incident INC-42") is for the
// company's own tools, and would give customers the internal key and the
// news that something is being kept from them.
func publicName(inc *incident.Incident, p incident.Policy) string {
	if svc, ok := p.Services[inc.Service]; ok && svc.Name != "" {
		return "Issue affecting " + truncate(svc.Name, 180)
	}
	return "Service disruption"
}

// publicStatus maps the incident's status to the public one.
func publicStatus(s incident.Status) incident.PublicStatus {
	switch s {
	case incident.StatusMitigated:
		return incident.PublicMonitoring
	case incident.StatusResolved, incident.StatusClosed:
		return incident.PublicResolved
	}
	return incident.PublicInvestigating
}

// componentStatus maps severity and status to the affected components'
// public state: the severity's state while open, degraded performance once
// mitigated, operational once resolved.
func componentStatus(inc *incident.Incident, p incident.Policy) incident.ComponentStatus {
	switch inc.Status {
	case incident.StatusResolved, incident.StatusClosed:
		return incident.ComponentOperational
	case incident.StatusMitigated:
		return incident.ComponentDegraded
	}
	if c := p.Severity(inc.Severity).ComponentStatus; c.Valid() {
		return c
	}
	return defaultComponentStatus(inc.Severity)
}

func defaultComponentStatus(sev incident.Severity) incident.ComponentStatus {
	switch sev {
	case incident.P1:
		return incident.ComponentMajorOutage
	case incident.P2:
		return incident.ComponentPartialOutage
	}
	return incident.ComponentDegraded
}

// publicImpact is Statuspage's impact for a severity.
func publicImpact(sev incident.Severity) string {
	switch sev {
	case incident.P1:
		return "critical"
	case incident.P2:
		return "major"
	}
	return "minor"
}
