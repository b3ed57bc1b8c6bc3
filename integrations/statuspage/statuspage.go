// Package statuspage publishes incidents on an Atlassian Statuspage page
// through its REST API (https://api.statuspage.io/v1). It implements
// comms.StatusPage: the first post creates a realtime incident with its
// impact, affected components and their states, later posts PATCH the
// incident with a new status and message, and component changes PATCH the
// components alone.
//
// Statuspage has no idempotency key. A post interrupted after Statuspage
// acted is recognised on the retry instead. A create stamps the incident's
// metadata with the firebreak incident's key ({"firebreak": {"incident":
// "INC-42"}}), and its retry adopts only an unresolved incident carrying
// that key, created since the post was asked for: never an incident of the
// same name someone opened by hand, nor another firebreak incident's. An
// update's retry looks through the incident's updates for one with its own
// words and status made since the post was asked for, whether or not a
// later post came after it.
package statuspage

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
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Provider is the provider key, as the policy's statuspage.provider names it.
const Provider = incident.ProviderStatuspage

// DefaultAPIURL is Statuspage's REST API root.
const DefaultAPIURL = "https://api.statuspage.io/v1"

const maxBody = 4 << 20

// defaultRetryAfter is the wait reported for a 420 or 429 without
// Retry-After; Statuspage counts its limit over a rolling minute.
const defaultRetryAfter = time.Minute

// Config configures the client.
type Config struct {
	// APIURL is the API root; empty means DefaultAPIURL.
	APIURL string
	// APIKey is a Statuspage API key of a user with the Incident Manager
	// role on the page.
	APIKey string
	// PageID is the page's id (Settings → API info).
	PageID string
	// HTTPClient sends the requests; pass the outbound client's HTTPClient.
	// Nil means a client with a 30-second timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      incident.Clock
}

// Client publishes to one Statuspage page. It is safe for concurrent use.
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
func (c *Client) Title() string { return "Statuspage" }

// incidentJSON is Statuspage's incident, the fields we read.
type incidentJSON struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Status    string       `json:"status"`
	Shortlink string       `json:"shortlink"`
	CreatedAt time.Time    `json:"created_at"`
	Updates   []updateJSON `json:"incident_updates"`
	// Metadata is read leniently (markOf): a page's other tools may put
	// anything there.
	Metadata json.RawMessage `json:"metadata"`
}

// metadataKey is the top-level metadata object firebreak writes; Statuspage
// wants every top-level value of an incident's metadata to be an object.
const metadataKey = "firebreak"

// mark is the metadata a create stamps on the incident: the firebreak
// incident's key.
func mark(key string) map[string]map[string]string {
	if key == "" {
		return nil
	}
	return map[string]map[string]string{metadataKey: {"incident": key}}
}

// markOf reads the firebreak incident's key from an incident's metadata;
// empty when it carries none.
func markOf(raw json.RawMessage) string {
	var md map[string]json.RawMessage
	if json.Unmarshal(raw, &md) != nil {
		return ""
	}
	var fb struct {
		Incident string `json:"incident"`
	}
	if json.Unmarshal(md[metadataKey], &fb) != nil {
		return ""
	}
	return fb.Incident
}

// updateJSON is one of an incident's incident_updates.
type updateJSON struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// incidentBody is the "incident" object of a create or update.
type incidentBody struct {
	Name                 string            `json:"name,omitempty"`
	Status               string            `json:"status,omitempty"`
	ImpactOverride       string            `json:"impact_override,omitempty"`
	Body                 string            `json:"body,omitempty"`
	ComponentIDs         []string          `json:"component_ids,omitempty"`
	Components           map[string]string `json:"components,omitempty"`
	DeliverNotifications *bool             `json:"deliver_notifications,omitempty"`
	// Metadata is sent with a create only.
	Metadata map[string]map[string]string `json:"metadata,omitempty"`
}

func componentsBody(cs map[string]incident.ComponentStatus) ([]string, map[string]string) {
	if len(cs) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(cs))
	m := make(map[string]string, len(cs))
	for id, st := range cs {
		ids = append(ids, id)
		m[id] = string(st)
	}
	sort.Strings(ids)
	return ids, m
}

// Create implements comms.StatusPage.
func (c *Client) Create(ctx context.Context, post comms.PublicPost, recover bool) (comms.PublicIncident, error) {
	if err := c.configured(); err != nil {
		return comms.PublicIncident{}, err
	}
	if recover {
		if got, ok, err := c.findCreated(ctx, post); err != nil {
			return comms.PublicIncident{}, err
		} else if ok {
			c.log.InfoContext(ctx, "statuspage incident from an interrupted post adopted", "public_id", got.ID)
			got.Adopted = true
			return got, nil
		}
	}
	ids, comps := componentsBody(post.Components)
	notify := post.Notify
	in := incidentBody{Name: post.Name, Status: string(post.Status), ImpactOverride: post.Impact, Body: post.Body,
		ComponentIDs: ids, Components: comps, DeliverNotifications: &notify, Metadata: mark(post.Key)}
	var out incidentJSON
	if err := c.do(ctx, http.MethodPost, c.pagePath("/incidents"), map[string]any{"incident": in}, &out); err != nil {
		return comms.PublicIncident{}, err
	}
	c.log.InfoContext(ctx, "statuspage incident created", "public_id", out.ID)
	if post.Key != "" && markOf(out.Metadata) != post.Key {
		c.log.WarnContext(ctx, "statuspage did not keep the incident's metadata: a create whose answer is lost cannot be recognised, and its retry opens a second public incident",
			"public_id", out.ID, "incident", post.Key)
	}
	return c.public(out), nil
}

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
	ids, comps := componentsBody(post.Components)
	notify := post.Notify
	in := incidentBody{Status: string(post.Status), Body: post.Body, ComponentIDs: ids, Components: comps, DeliverNotifications: &notify}
	var out incidentJSON
	if err := c.do(ctx, http.MethodPatch, path, map[string]any{"incident": in}, &out); err != nil {
		return comms.PublicIncident{}, err
	}
	return c.public(out), nil
}

// SetComponents implements comms.StatusPage: a PATCH with components
// and no message.
func (c *Client) SetComponents(ctx context.Context, ref comms.PublicIncident, cs map[string]incident.ComponentStatus) error {
	if err := c.configured(); err != nil {
		return err
	}
	ids, comps := componentsBody(cs)
	notify := false
	in := incidentBody{ComponentIDs: ids, Components: comps, DeliverNotifications: &notify}
	return c.do(ctx, http.MethodPatch, c.pagePath("/incidents/"+url.PathEscape(ref.ID)), map[string]any{"incident": in}, nil)
}

// findCreated looks for the incident an interrupted create made: one
// carrying the firebreak incident's key. The public name proves nothing:
// another incident of the same service, or one opened by hand, has the
// same. A key carried by an incident made before this post was asked for
// is another database's (a key number used again).
func (c *Client) findCreated(ctx context.Context, post comms.PublicPost) (comms.PublicIncident, bool, error) {
	if post.Key == "" {
		return comms.PublicIncident{}, false, nil
	}
	// The listing is paged (per_page up to 100, page from 1), in an order
	// the documentation does not give: every page is read until a short
	// one, up to listPages.
	for page := 1; page <= listPages; page++ {
		var open []incidentJSON
		path := c.pagePath(fmt.Sprintf("/incidents/unresolved?page=%d&per_page=%d", page, perPage))
		if err := c.do(ctx, http.MethodGet, path, nil, &open); err != nil {
			return comms.PublicIncident{}, false, err
		}
		for _, in := range open {
			if markOf(in.Metadata) == post.Key && !in.CreatedAt.Before(post.RecoverSince()) {
				return c.public(in), true, nil
			}
		}
		if len(open) < perPage {
			return comms.PublicIncident{}, false, nil
		}
	}
	c.log.WarnContext(ctx, "statuspage has more unresolved incidents than a retried create reads; the interrupted create was not found among them",
		"read", listPages*perPage)
	return comms.PublicIncident{}, false, nil
}

// perPage is the most incidents Statuspage answers in one page; listPages
// bounds the pages a retried create reads (1,000 unresolved incidents).
const (
	perPage   = 100
	listPages = 10
)

// posted reports whether the incident has an update with the post's words
// and status made since the post was asked for: an earlier attempt of it
// whose answer was lost, even when a later post came after it. The same
// words posted before the post was asked for are an earlier post (the last
// quiet spell's), not this one.
func posted(in incidentJSON, post comms.PublicPost) bool {
	body, since := strings.TrimSpace(post.Body), post.RecoverSince()
	for _, u := range in.Updates {
		if strings.TrimSpace(u.Body) == body && u.Status == string(post.Status) && !u.CreatedAt.Before(since) {
			return true
		}
	}
	return false
}

func (c *Client) public(in incidentJSON) comms.PublicIncident {
	return comms.PublicIncident{Provider: Provider, ID: in.ID, URL: in.Shortlink, Status: incident.PublicStatus(in.Status)}
}

func (c *Client) configured() error {
	if c.cfg.APIKey == "" || c.cfg.PageID == "" {
		return incident.Errorf(incident.EINVALID, "Statuspage is not configured: set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID.")
	}
	return nil
}

func (c *Client) pagePath(rest string) string {
	return "/pages/" + url.PathEscape(c.cfg.PageID) + rest
}

// do sends one request and decodes a 2xx JSON answer into out; any other
// status becomes an error with an incident code.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	ctx = outbound.WithOperation(ctx, operation(method, path))
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "OAuth "+c.cfg.APIKey)
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
		return &outbound.UnavailableError{Provider: Provider, Name: "Statuspage", Cause: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &outbound.UnavailableError{Provider: Provider, Name: "Statuspage", Status: resp.StatusCode, Cause: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil && len(raw) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("decode Statuspage response: %w", err)
			}
		}
		return nil
	}
	return c.statusError(resp.StatusCode, errorMessage(raw), resp.Header)
}

// operation names a request in metrics. The path's query (the listing's
// page and per_page) is no part of the name.
func operation(method, path string) string {
	path, _, _ = strings.Cut(path, "?")
	switch {
	case strings.HasSuffix(path, "/unresolved"):
		return "incidents.unresolved"
	case method == http.MethodPost:
		return "incidents.create"
	case method == http.MethodPatch:
		return "incidents.update"
	}
	return "incidents.get"
}

// statusError maps a refused request to an error with an incident code.
func (c *Client) statusError(status int, msg string, h http.Header) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return incident.Errorf(incident.EFORBIDDEN,
			"Statuspage refused the API key (HTTP %d): check STATUSPAGE_API_KEY and that its user manages incidents on page %s.", status, c.cfg.PageID)
	case status == http.StatusNotFound:
		return incident.Errorf(incident.ENOTFOUND, "Statuspage cannot find page %s or the incident.", c.cfg.PageID)
	case status == 420 || status == http.StatusTooManyRequests:
		return &outbound.RateLimitedError{Provider: Provider, Name: "Statuspage", Wait: outbound.RetryAfterOr(h, c.now(), defaultRetryAfter)}
	case status >= 500:
		return &outbound.UnavailableError{Provider: Provider, Name: "Statuspage", Status: status, Attempts: 1}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return incident.Errorf(incident.EINVALID, "Statuspage rejected the post (HTTP %d): %s", status, clip(msg))
}

// errorMessage reads Statuspage's {"error": "..."} or {"error": [...]}
// bodies, and {"message": "..."}.
func errorMessage(raw []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return strings.TrimSpace(string(raw))
	}
	var one string
	if json.Unmarshal(e.Error, &one) == nil && one != "" {
		return one
	}
	var many []string
	if json.Unmarshal(e.Error, &many) == nil && len(many) > 0 {
		return strings.Join(many, "; ")
	}
	return e.Message
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	return s
}
