// Package instatus publishes incidents on an Instatus status page through
// its REST API (https://api.instatus.com). It implements
// comms.StatusPage: the first post adds an incident (POST
// /v1/{page_id}/incidents), later posts add incident updates (POST
// .../incidents/{id}/incident-updates), and component changes update the
// incident (PUT .../incidents/{id}) with its components' statuses.
//
// Instatus spells states in capitals without underscores (INVESTIGATING,
// MAJOROUTAGE); the client translates. Like Statuspage it has no
// idempotency key, so a retried post first looks for what an interrupted
// attempt made. Instatus keeps no metadata on an incident, so a create
// marks the incident by its start instead: the second the incident was
// declared, at the millisecond its number names (INC-42 at 14:05:12 starts
// at 14:05:12.042, a shift no page shows). A retried create adopts only an
// unresolved incident of the same name with that very start: not one
// opened by hand, nor another firebreak incident's declared in the same
// second. An update's retry looks through the incident's updates for one
// with its own message and status made since the post was asked for,
// whether or not a later post came after it.
package instatus

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
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Provider is the provider key, as the policy's statuspage.provider names it.
const Provider = incident.ProviderInstatus

// DefaultAPIURL is the Instatus API root.
const DefaultAPIURL = "https://api.instatus.com"

const maxBody = 4 << 20

const defaultRetryAfter = time.Minute

// Config configures the client.
type Config struct {
	// APIURL is the API root; empty means DefaultAPIURL.
	APIURL string
	// APIKey is an Instatus API key (dashboard → Developer).
	APIKey string
	// PageID is the status page's id.
	PageID string
	// PageURL is the public page, such as https://status.example.com; an
	// incident's link is PageURL/incident/<id>. Empty leaves links out.
	PageURL    string
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      incident.Clock
}

// Client publishes to one Instatus page. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	http *http.Client
	log  *slog.Logger
	now  func() time.Time
}

// New returns a Client.
func New(cfg Config) *Client {
	c := &Client{cfg: cfg, base: strings.TrimRight(strings.TrimSpace(cfg.APIURL), "/"), http: cfg.HTTPClient, log: cfg.Logger, now: time.Now}
	if c.base == "" {
		c.base = DefaultAPIURL
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock != nil {
		c.now = cfg.Clock.Now
	}
	return c
}

// Name implements comms.StatusPage.
func (c *Client) Name() string { return Provider }

// Title implements comms.StatusPage.
func (c *Client) Title() string { return "Instatus" }

// State translates a state to Instatus' spelling: "major_outage" becomes
// "MAJOROUTAGE".
func State[T ~string](s T) string {
	return strings.ToUpper(strings.ReplaceAll(string(s), "_", ""))
}

type componentStatus struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type incidentJSON struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Status  string     `json:"status"`
	Started time.Time  `json:"started"`
	Updates []struct { // newest last or first: compared by time
		ID      string    `json:"id"`
		Message string    `json:"message"`
		Status  string    `json:"status"`
		Started time.Time `json:"started"`
	} `json:"updates"`
}

type postBody struct {
	Name       string            `json:"name,omitempty"`
	Message    string            `json:"message,omitempty"`
	Components []string          `json:"components"`
	Started    string            `json:"started,omitempty"`
	Status     string            `json:"status,omitempty"`
	Notify     *bool             `json:"notify,omitempty"`
	Statuses   []componentStatus `json:"statuses"`
}

func components(cs map[string]incident.ComponentStatus) ([]string, []componentStatus) {
	ids := make([]string, 0, len(cs))
	for id := range cs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	st := make([]componentStatus, 0, len(ids))
	for _, id := range ids {
		st = append(st, componentStatus{ID: id, Status: State(cs[id])})
	}
	return ids, st
}

// Create implements comms.StatusPage.
func (c *Client) Create(ctx context.Context, post comms.PublicPost, recover bool) (comms.PublicIncident, error) {
	if err := c.configured(); err != nil {
		return comms.PublicIncident{}, err
	}
	started := startedMark(post)
	if recover {
		in, found, err := c.findCreated(ctx, post.Name, started)
		if err != nil {
			return comms.PublicIncident{}, err
		}
		if found {
			c.log.InfoContext(ctx, "instatus incident from an interrupted post adopted", "public_id", in.ID)
			got := c.public(in)
			got.Adopted = true
			return got, nil
		}
	}
	ids, st := components(post.Components)
	notify := post.Notify
	in := postBody{Name: post.Name, Message: post.Body, Components: ids, Statuses: st, Status: State(post.Status),
		Notify: &notify, Started: started.Format(timeFormat)}
	var out incidentJSON
	if err := c.do(ctx, http.MethodPost, c.pagePath("/incidents"), in, &out); err != nil {
		return comms.PublicIncident{}, err
	}
	c.log.InfoContext(ctx, "instatus incident created", "public_id", out.ID)
	return c.public(out), nil
}

// findCreated looks among the open incidents for the one an interrupted
// create made: its name, started at the mark the create sent. Instatus
// pages the listing (50 a page unless asked, 100 at most), newest first;
// every page is read until a short one, up to listPages.
func (c *Client) findCreated(ctx context.Context, name string, started time.Time) (incidentJSON, bool, error) {
	for page := 1; page <= listPages; page++ {
		var open []incidentJSON
		path := c.pagePath(fmt.Sprintf("/incidents?status=INVESTIGATING,IDENTIFIED,MONITORING&page=%d&per_page=%d", page, perPage))
		if err := c.do(ctx, http.MethodGet, path, nil, &open); err != nil {
			return incidentJSON{}, false, err
		}
		for _, in := range open {
			if in.Name == name && sameStart(in.Started, started) {
				return in, true, nil
			}
		}
		if len(open) < perPage {
			return incidentJSON{}, false, nil
		}
	}
	c.log.WarnContext(ctx, "instatus has more open incidents than a retried create reads; the interrupted create was not found among them",
		"read", listPages*perPage)
	return incidentJSON{}, false, nil
}

// perPage is the most incidents Instatus answers in one page; listPages
// bounds the pages a retried create reads (1,000 open incidents).
const (
	perPage   = 100
	listPages = 10
)

// Update implements comms.StatusPage.
func (c *Client) Update(ctx context.Context, ref comms.PublicIncident, post comms.PublicPost, recover bool) (comms.PublicIncident, error) {
	if err := c.configured(); err != nil {
		return comms.PublicIncident{}, err
	}
	path := c.pagePath("/incidents/" + url.PathEscape(ref.ID))
	if recover {
		var cur incidentJSON
		if err := c.do(ctx, http.MethodGet, path, nil, &cur); err != nil {
			return comms.PublicIncident{}, err
		}
		if posted(cur, post) {
			return c.public(cur), nil
		}
	}
	ids, st := components(post.Components)
	notify := post.Notify
	in := postBody{Message: post.Body, Components: ids, Statuses: st, Status: State(post.Status), Notify: &notify,
		Started: c.now().UTC().Format(timeFormat)}
	if err := c.do(ctx, http.MethodPost, path+"/incident-updates", in, nil); err != nil {
		return comms.PublicIncident{}, err
	}
	got := ref
	got.Provider, got.Status = Provider, post.Status
	if got.URL == "" {
		got.URL = c.link(ref.ID)
	}
	return got, nil
}

// SetComponents implements comms.StatusPage: a PUT of the incident with
// its components' statuses.
func (c *Client) SetComponents(ctx context.Context, ref comms.PublicIncident, cs map[string]incident.ComponentStatus) error {
	if err := c.configured(); err != nil {
		return err
	}
	ids, st := components(cs)
	return c.do(ctx, http.MethodPut, c.pagePath("/incidents/"+url.PathEscape(ref.ID)), postBody{Components: ids, Statuses: st}, nil)
}

// timeFormat is ISO 8601 with milliseconds, as Instatus writes times.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// startedMark is the start a create gives the public incident: the second
// the incident was declared, at the millisecond its key's number names
// (number mod 1000), so that two incidents of the same name declared in
// the same second start apart, and one opened by hand (started at its own
// moment) almost surely does not start there. Without a key it is the
// second alone.
func startedMark(post comms.PublicPost) time.Time {
	t := post.StartedAt.UTC().Truncate(time.Second)
	n, err := strconv.ParseInt(strings.TrimPrefix(post.Key, incident.KeyPrefix), 10, 64)
	if err != nil || n < 0 {
		return t
	}
	return t.Add(time.Duration(n%1000) * time.Millisecond)
}

// sameStart reports whether an incident's start is the mark. A start kept
// to the whole second (were Instatus to drop the milliseconds) is compared
// to the second.
func sameStart(got, mark time.Time) bool {
	if got.Equal(mark) {
		return true
	}
	return got.Nanosecond() == 0 && got.Equal(mark.Truncate(time.Second))
}

// posted reports whether the incident has an update with the post's
// message and status made since the post was asked for: an earlier attempt
// of it whose answer was lost, even when a later post came after it. The
// same words posted before the post was asked for are an earlier post (the
// last quiet spell's), not this one.
func posted(in incidentJSON, post comms.PublicPost) bool {
	body, status, since := strings.TrimSpace(post.Body), State(post.Status), post.RecoverSince()
	for _, u := range in.Updates {
		if body != "" && strings.TrimSpace(u.Message) == body && u.Status == status && !u.Started.Before(since) {
			return true
		}
	}
	return false
}

func (c *Client) public(in incidentJSON) comms.PublicIncident {
	return comms.PublicIncident{Provider: Provider, ID: in.ID, URL: c.link(in.ID),
		Status: incident.PublicStatus(strings.ToLower(in.Status))}
}

func (c *Client) link(id string) string {
	if c.cfg.PageURL == "" || id == "" {
		return ""
	}
	return strings.TrimRight(c.cfg.PageURL, "/") + "/incident/" + url.PathEscape(id)
}

func (c *Client) configured() error {
	if c.cfg.APIKey == "" || c.cfg.PageID == "" {
		return incident.Errorf(incident.EINVALID, "Instatus is not configured: set INSTATUS_API_KEY and INSTATUS_PAGE_ID.")
	}
	return nil
}

func (c *Client) pagePath(rest string) string {
	return "/v1/" + url.PathEscape(c.cfg.PageID) + rest
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(outbound.WithOperation(ctx, operation(method, path)), method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var unavailable *outbound.UnavailableError
		if errors.As(err, &unavailable) {
			return err
		}
		return &outbound.UnavailableError{Provider: Provider, Name: "Instatus", Cause: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &outbound.UnavailableError{Provider: Provider, Name: "Instatus", Status: resp.StatusCode, Cause: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil && len(raw) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("decode Instatus response: %w", err)
			}
		}
		return nil
	}
	return c.statusError(resp.StatusCode, errorMessage(raw), resp.Header)
}

// operation names a request in the outbound metrics and logs.
func operation(method, path string) string {
	switch {
	case strings.HasSuffix(path, "/incident-updates"):
		return "incident_updates.create"
	case method == http.MethodPost:
		return "incidents.create"
	case method == http.MethodPut:
		return "incidents.update"
	}
	return "incidents.get"
}

func (c *Client) statusError(status int, msg string, h http.Header) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return incident.Errorf(incident.EFORBIDDEN, "Instatus refused the API key (HTTP %d): check INSTATUS_API_KEY and its access to page %s.", status, c.cfg.PageID)
	case status == http.StatusNotFound:
		return incident.Errorf(incident.ENOTFOUND, "Instatus cannot find page %s or the incident.", c.cfg.PageID)
	case status == http.StatusTooManyRequests:
		return &outbound.RateLimitedError{Provider: Provider, Name: "Instatus", Wait: outbound.RetryAfterOr(h, c.now(), defaultRetryAfter)}
	case status >= 500:
		return &outbound.UnavailableError{Provider: Provider, Name: "Instatus", Status: status, Attempts: 1}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return incident.Errorf(incident.EINVALID, "Instatus rejected the post (HTTP %d): %s", status, clip(msg))
}

func errorMessage(raw []byte) string {
	var e struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return strings.TrimSpace(string(raw))
	}
	if e.Message != "" {
		return e.Message
	}
	return e.Error
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	return s
}
