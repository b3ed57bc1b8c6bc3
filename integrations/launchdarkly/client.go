// Package launchdarkly reads flag changes from LaunchDarkly's audit log,
// turns flags off to roll a change back, and receives LaunchDarkly's signed
// webhooks. It implements incident.ChangeSource and incident.Rollbacker
// with plain HTTP against the REST API v2, through the *http.Client that
// package outbound hands out.
//
// Vendor facts it relies on (see docs/change-webhook.md and
// /work/shared/reference/platform-facts.md section 4.1):
//   - GET /api/v2/auditlog takes after and before in Unix milliseconds,
//     spec (a resource specifier), and limit (1-20), and pages with
//     _links.next; nothing promises a next link, so after a full page
//     without one the client pages on with before. Both bounds are
//     exclusive, so the client widens the window by a millisecond and
//     filters to [from, to] itself; nothing promises that the next link
//     keeps the spec, so the client keeps only the asked flag's entries
//     itself too.
//   - Authorization carries the raw API access token, with no Bearer, and
//     LD-API-Version pins the API version (20220603).
//   - A 429 of the global and route limits carries X-Ratelimit-Reset, the
//     Unix time in milliseconds when the ten-second window resets; one of
//     the IP-based limits carries Retry-After in seconds.
//   - A flag is turned off with a semantic patch: PATCH
//     /api/v2/flags/{project}/{key} with Content-Type
//     "application/json; domain-model=launchdarkly.semanticpatch".
//   - Webhook payloads are audit log entries, signed with X-LD-Signature:
//     the hex HMAC-SHA256 of the raw body keyed with the webhook secret.
//
// A listed entry (AuditLogEntryListingRep) carries no previousVersion and
// currentVersion; the detailed entry and webhooks do. Assumed, not checked
// against a live account: they are flag objects whose _version and
// environments.<env>.on give the versions and the on/off state.
package launchdarkly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/flagoff"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Source is the ChangeEvent.Source of every change this package reports.
const Source = incident.ProviderLaunchDarkly

// DefaultAPIURL is LaunchDarkly's commercial instance; federal and EU
// accounts have their own hosts.
const DefaultAPIURL = "https://app.launchdarkly.com"

// APIVersion is the REST API version the client is written for, sent as
// LD-API-Version on every request: without it LaunchDarkly answers in the
// version the access token was created with, which LaunchDarkly advises
// clients not to rely on.
const APIVersion = "20220603"

// SemanticPatchContentType selects LaunchDarkly's semantic patch format;
// with plain application/json the API expects a JSON Patch array instead.
const SemanticPatchContentType = "application/json; domain-model=launchdarkly.semanticpatch"

// Paths and limits of the REST API.
const (
	auditLogPath = "/api/v2/auditlog"
	flagsPath    = "/api/v2/flags"
	// auditLogPageSize is the largest limit the audit log accepts.
	auditLogPageSize = 20
	// maxAuditLogPages bounds one Changes call to 1000 entries per flag, so
	// a looping _links.next cannot hold a worker forever.
	maxAuditLogPages = 50
	// maxResponseBytes bounds what is read from one response.
	maxResponseBytes = 4 << 20
	// defaultRetryAfter is the wait reported for a 429 without a usable
	// Retry-After or X-Ratelimit-Reset header.
	defaultRetryAfter = time.Minute
	// defaultProject is the project LaunchDarkly creates for every account;
	// a FlagRef without a project means it.
	defaultProject = flagoff.DefaultProject
)

// Config configures a Client.
type Config struct {
	// APIURL is the API's base URL; empty means DefaultAPIURL.
	APIURL string
	// Token is an API access token with reader rights for Changes and
	// writer rights on the flags for rollbacks.
	Token string
	// HTTPClient sends every request; cmd passes outbound's client for
	// LaunchDarkly. Nil means http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
	// Clock dates Retry-After values given as HTTP dates and rate-limit
	// reset times; nil means incident.SystemClock.
	Clock incident.Clock
}

// Client talks to LaunchDarkly. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	http  *http.Client
	log   *slog.Logger
	clock incident.Clock
	// maxResetWait bounds the wait read from X-Ratelimit-Reset.
	maxResetWait time.Duration
}

// New returns a Client for cfg, with defaults for its zero fields.
func New(cfg Config) *Client {
	c := &Client{
		base:  strings.TrimRight(cfg.APIURL, "/"),
		token: cfg.Token,
		http:  cfg.HTTPClient,
		log:   cfg.Logger,
		clock: cfg.Clock,
	}
	if c.base == "" {
		c.base = DefaultAPIURL
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = incident.SystemClock
	}
	// LaunchDarkly's windows last ten seconds, so a reset much further
	// off says the clocks disagree: wait no longer than the HTTP policy
	// would in process.
	c.maxResetWait = outbound.DefaultMaxRetryAfter
	if oc, ok := c.http.Transport.(*outbound.Client); ok {
		c.maxResetWait = oc.Policy().MaxRetryAfter
	}
	return c
}

var (
	_ incident.ChangeSource        = (*Client)(nil)
	_ incident.CuttingChangeSource = (*Client)(nil)
	_ incident.Rollbacker          = (*Client)(nil)
)

// Name returns "LaunchDarkly".
func (c *Client) Name() string { return "LaunchDarkly" }

// Changes returns the changes to the service's LaunchDarkly flags with
// OccurredAt in [from, to], newest first. A service without LaunchDarkly
// flags has none. EUNAVAILABLE (with a RetryAfter when rate limited) when
// LaunchDarkly fails.
func (c *Client) Changes(ctx context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, error) {
	out, _, err := c.ChangesCut(ctx, svc, from, to)
	return out, err
}

// ChangesCut is Changes, with the flags whose audit log had more entries
// in the window than maxAuditLogPages pages hold: only the newest of
// those are read.
func (c *Client) ChangesCut(ctx context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, []incident.SourceCut, error) {
	var out []incident.ChangeEvent
	var cuts []incident.SourceCut
	seen := map[string]bool{}
	for _, f := range svc.Flags {
		if f.Provider != Source {
			continue
		}
		entries, more, err := c.auditLog(ctx, f, from, to)
		if err != nil {
			return nil, nil, fmt.Errorf("launchdarkly: list changes of flag %s: %w", f.Key, err)
		}
		if more {
			cuts = append(cuts, incident.SourceCut{Source: c.Name(), What: "audit log entries of flag " + f.Key, Read: len(entries)})
		}
		for _, e := range entries {
			ch, ok := e.change(c.base, f)
			// The spec asks for f's entries, but the pages after the
			// first come from _links.next, which LaunchDarkly does not
			// promise keeps it: only f's entries, in its project, are
			// its changes.
			if !ok || ch.Ref != f.Key || ch.Data["project"] != projectOf(f.Project) {
				continue
			}
			if seen[ch.ExternalID] || ch.OccurredAt.Before(from) || ch.OccurredAt.After(to) {
				continue
			}
			if f.Environment != "" && ch.Environment != "" && ch.Environment != f.Environment {
				continue
			}
			seen[ch.ExternalID] = true
			ch.Service = svc.Key
			out = append(out, ch)
		}
	}
	sortNewestFirst(out)
	return out, cuts, nil
}

// auditLog lists the audit log entries of one flag around [from, to],
// newest first, each once. It follows _links.next; a full page without
// one (LaunchDarkly documents the _links map, not that it holds a next
// link) is not taken as the end: the next page is asked for with before
// just after the page's oldest entry, so that entries of that millisecond
// not read yet come back, and those read already are skipped by _id. more
// reports that older entries may be left: it stopped at maxAuditLogPages,
// or a millisecond held more entries than a page.
func (c *Client) auditLog(ctx context.Context, f incident.FlagRef, from, to time.Time) (_ []auditEntry, more bool, _ error) {
	q := url.Values{}
	// after and before are exclusive: widen by a millisecond so entries on
	// the bounds come back.
	before := to.UnixMilli() + 1
	q.Set("after", strconv.FormatInt(from.UnixMilli()-1, 10))
	q.Set("before", strconv.FormatInt(before, 10))
	q.Set("limit", strconv.Itoa(auditLogPageSize))
	q.Set("spec", flagSpec(f))
	next := auditLogPath + "?" + q.Encode()

	ctx = outbound.WithOperation(ctx, "auditlog.list")
	var all []auditEntry
	seen := map[string]bool{}
	for page := 0; next != ""; page++ {
		if page == maxAuditLogPages {
			c.log.Warn("launchdarkly audit log has more pages than read; older changes are left out",
				slog.String("flag", f.Key), slog.Int("pages", page))
			return all, true, nil
		}
		var coll auditLogCollection
		if err := c.do(ctx, http.MethodGet, next, "", nil, &coll, ""); err != nil {
			return nil, false, err
		}
		if len(coll.Items) == 0 {
			break
		}
		fresh, oldest := 0, coll.Items[0].Date
		for _, e := range coll.Items {
			oldest = min(oldest, e.Date)
			if e.ID != "" && seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			fresh++
			all = append(all, e)
		}
		var err error
		if next, err = sameOriginPath(coll.Links.Next.Href); err != nil {
			return nil, false, err
		}
		if next != "" {
			continue
		}
		if len(coll.Items) < auditLogPageSize {
			break
		}
		// A full page without a next link: page on before its oldest
		// entry, that entry's millisecond included. A page with nothing
		// new, or one that lay wholly in the millisecond just before the
		// bound it was asked with, holds only that millisecond's entries,
		// more than a page: step past it, leaving out those not read.
		b := oldest + 1
		if fresh == 0 || b == before {
			b, more = oldest, true
		}
		if b >= before {
			// The audit log does not go back in time.
			c.log.Warn("launchdarkly audit log does not page back; older changes are left out",
				slog.String("flag", f.Key), slog.Int("pages", page+1))
			return all, true, nil
		}
		before = b
		q.Set("before", strconv.FormatInt(before, 10))
		next = auditLogPath + "?" + q.Encode()
	}
	return all, more, nil
}

// sameOriginPath returns the path and query of a _links href. The host is
// dropped on purpose: the token is only ever sent to the configured URL.
func sameOriginPath(href string) (string, error) {
	if href == "" {
		return "", nil
	}
	u, err := url.Parse(href)
	if err != nil {
		return "", incident.Errorf(incident.EUNAVAILABLE, "LaunchDarkly returned a malformed next-page link.")
	}
	return u.RequestURI(), nil
}

// flagSpec is the resource specifier of a flag in one environment, or in
// every environment when the ref names none.
func flagSpec(f incident.FlagRef) string {
	env := f.Environment
	if env == "" {
		env = "*"
	}
	return fmt.Sprintf("proj/%s:env/%s:flag/%s", projectOf(f.Project), env, f.Key)
}

func projectOf(p string) string {
	if p == "" {
		return defaultProject
	}
	return p
}

// rateLimitWait reads how long a 429 asks the bot to wait (RetryAfter),
// with the wait until X-Ratelimit-Reset bounded by maxResetWait;
// defaultRetryAfter when no header is usable.
func (c *Client) rateLimitWait(h http.Header) time.Duration {
	now := c.clock.Now()
	wait, hinted := outbound.ParseRetryAfter(h, now)
	if reset, ok := resetWait(h, now); ok {
		wait, hinted = max(wait, min(reset, c.maxResetWait)), true
	}
	if !hinted {
		return defaultRetryAfter
	}
	return wait
}

// RetryAfter reads how long a LaunchDarkly response asks the caller to
// wait: until X-Ratelimit-Reset (Unix milliseconds, sent with a 429 of the
// global and route limits; never negative when the caller's clock is ahead)
// or for Retry-After (a 429 of the IP limit), whichever is later. It suits
// outbound.Policy.RetryAfter, so the HTTP policy's retries and its shared
// wait per operation follow LaunchDarkly's reset too.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	wait, hinted := outbound.ParseRetryAfter(h, now)
	if reset, ok := resetWait(h, now); ok {
		return max(wait, reset), true
	}
	return wait, hinted
}

// resetWait is the wait until X-Ratelimit-Reset, when the header is set.
func resetWait(h http.Header, now time.Time) (time.Duration, bool) {
	ms, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Ratelimit-Reset")), 10, 64)
	if err != nil {
		return 0, false
	}
	return max(time.UnixMilli(ms).Sub(now), 0), true
}

// apiError is LaunchDarkly's error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// do sends one request to pathQuery (relative to the base URL) and decodes
// a 2xx JSON response into out. notFound is the user-safe message for a
// 404; empty means a generic one.
func (c *Client) do(ctx context.Context, method, pathQuery, contentType string, body []byte, out any, notFound string) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+pathQuery, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", c.token)
	req.Header.Set("LD-API-Version", APIVersion)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *outbound.UnavailableError
		if errors.As(err, &ue) {
			return err
		}
		return &outbound.UnavailableError{Provider: Source, Cause: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &outbound.UnavailableError{Provider: Source, Status: resp.StatusCode, Cause: err}
	}
	if err := c.statusError(method, resp, data, notFound); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return incident.Errorf(incident.EUNAVAILABLE, "LaunchDarkly returned a response the bot could not read.")
	}
	return nil
}

// statusError turns a non-2xx response to a method request into a domain
// error. A 409 is a concurrent change LaunchDarkly asks clients to retry. A
// rejected token makes the source unavailable when reading, and refuses a
// change for good: trying again will not give the token the right.
func (c *Client) statusError(method string, resp *http.Response, data []byte, notFound string) error {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		return &outbound.RateLimitedError{Provider: Source, Wait: c.rateLimitWait(resp.Header)}
	case code >= 500 || code == http.StatusRequestTimeout:
		return &outbound.UnavailableError{Provider: Source, Status: code}
	case code == http.StatusConflict:
		return incident.Errorf(incident.EUNAVAILABLE, "LaunchDarkly was busy with a concurrent change (HTTP 409); the bot tries again.")
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		kind := incident.EUNAVAILABLE
		if method != http.MethodGet {
			kind = incident.EFORBIDDEN
		}
		return incident.Errorf(kind, "LaunchDarkly rejected the bot's API token (HTTP %d); check the token and its role.", code)
	case code == http.StatusNotFound:
		if notFound == "" {
			notFound = "LaunchDarkly could not find what the bot asked for (HTTP 404)."
		}
		return incident.Errorf(incident.ENOTFOUND, "%s", notFound)
	}
	var ae apiError
	_ = json.Unmarshal(data, &ae)
	msg := strings.TrimSpace(ae.Message)
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	return incident.Errorf(incident.EINVALID, "LaunchDarkly refused the request (HTTP %d): %s", code, msg)
}
