// Package confluence publishes postmortem drafts to Confluence Cloud as
// pages, through the v2 REST API (/wiki/api/v2/pages). It implements
// incident.Exporter: the first export creates a page, a re-export updates
// the same page with the next version number, so a draft is never published
// twice.
//
// Confluence updates use optimistic locking: a PUT must carry exactly the
// current version plus one. The client reads the current version before each
// update, and when someone saves the page in between (409 Conflict) it reads
// again and retries once. A page with the same title already in the space
// (an export whose record was lost, or a page made by hand) is found and
// updated instead of failing.
package confluence

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
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Target is the ExportRef.Target of Confluence exports.
const Target = incident.ProviderConfluence

// MaxTitleLength is Confluence's limit on a page title.
const MaxTitleLength = 255

// maxBody bounds how much of a response the client reads.
const maxBody = 4 << 20

// defaultRetryAfter is the wait reported for a 429 without Retry-After.
const defaultRetryAfter = time.Minute

// Config configures the Confluence exporter.
type Config struct {
	// BaseURL is the site's wiki root: https://SITE.atlassian.net/wiki.
	BaseURL string
	// Email and APIToken authenticate with HTTP Basic auth; the token is an
	// Atlassian API token of an account that may create pages in the space.
	Email    string
	APIToken string
	// SpaceID is the numeric id of the space (the v2 API takes the id, not
	// the key).
	SpaceID string
	// ParentID is the page postmortems are created under; empty puts them
	// under the space's home page.
	ParentID string
	// HTTPClient sends the requests; pass the outbound client's HTTPClient
	// for retries, breaker and metrics. Nil means a client with a 30-second
	// timeout.
	HTTPClient *http.Client
	// Logger receives one line per page created or updated; it never sees
	// the credentials or the page body. Nil discards.
	Logger *slog.Logger
}

// Client exports postmortems to Confluence. It is safe for concurrent use.
type Client struct {
	cfg    Config
	base   string
	http   *http.Client
	logger *slog.Logger
	now    func() time.Time
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	c := &Client{
		cfg:    cfg,
		base:   strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/"),
		http:   cfg.HTTPClient,
		logger: cfg.Logger,
		now:    time.Now,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Name names the exporter to people.
func (c *Client) Name() string { return "Confluence" }

// Title returns the page title for a postmortem: "Postmortem: INC-42 <title>",
// cut to Confluence's limit.
func Title(doc incident.PostmortemDoc) string {
	t := strings.TrimSpace(fmt.Sprintf("Postmortem: %s %s", doc.IncidentKey, strings.Join(strings.Fields(doc.Title), " ")))
	if utf8.RuneCountInString(t) > MaxTitleLength {
		t = string([]rune(t)[:MaxTitleLength-1]) + "…"
	}
	return t
}

// Export publishes doc.Confluence. Without prev it creates a page, or
// updates the page of the same title when one exists in the space; with prev
// it updates that page (and creates a new one if it was deleted). Errors
// carry incident error codes: EFORBIDDEN for refused credentials, ENOTFOUND
// for a missing space or parent, ECONFLICT when the page keeps changing under
// us, EINVALID for a page Confluence rejects, EUNAVAILABLE (with a
// RetryAfter for 429) when Confluence is down or limiting us.
func (c *Client) Export(ctx context.Context, doc incident.PostmortemDoc, prev *incident.ExportRef) (incident.ExportRef, error) {
	if c.base == "" || c.cfg.SpaceID == "" {
		return incident.ExportRef{}, incident.Errorf(incident.EINVALID, "Confluence is not configured: set the base URL and the space id.")
	}
	title := Title(doc)
	if prev != nil && prev.ID != "" && (prev.Target == "" || prev.Target == Target) {
		ref, err := c.update(ctx, prev.ID, title, doc)
		if incident.ErrorCode(err) != incident.ENOTFOUND {
			return ref, err
		}
		// Someone deleted the page: publish the draft again.
		c.logger.Warn("confluence page of an earlier export is gone; creating a new one",
			slog.String("incident", doc.IncidentKey), slog.String("page_id", prev.ID))
	}
	page, err := c.create(ctx, title, doc)
	if err == nil {
		c.logger.Info("confluence page created", slog.String("incident", doc.IncidentKey), slog.String("page_id", page.ID))
		return c.ref(page), nil
	}
	if !errors.Is(err, errTitleTaken) {
		return incident.ExportRef{}, err
	}
	id, err := c.findByTitle(ctx, title)
	if err != nil {
		return incident.ExportRef{}, err
	}
	c.logger.Info("confluence page with the postmortem's title exists; updating it",
		slog.String("incident", doc.IncidentKey), slog.String("page_id", id))
	return c.update(ctx, id, title, doc)
}

// errTitleTaken marks a create refused because the title is in use.
var errTitleTaken = errors.New("a page with this title already exists")

// page is the part of a v2 page the client reads.
type page struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	SpaceID string `json:"spaceId"`
	Version struct {
		Number int `json:"number"`
	} `json:"version"`
	Links struct {
		WebUI string `json:"webui"`
	} `json:"_links"`
}

type storageBody struct {
	Representation string `json:"representation"`
	Value          string `json:"value"`
}

type createRequest struct {
	SpaceID  string      `json:"spaceId"`
	Status   string      `json:"status"`
	Title    string      `json:"title"`
	ParentID string      `json:"parentId,omitempty"`
	Body     storageBody `json:"body"`
}

type updateRequest struct {
	ID      string      `json:"id"`
	Status  string      `json:"status"`
	Title   string      `json:"title"`
	Body    storageBody `json:"body"`
	Version struct {
		Number  int    `json:"number"`
		Message string `json:"message,omitempty"`
	} `json:"version"`
}

func (c *Client) create(ctx context.Context, title string, doc incident.PostmortemDoc) (page, error) {
	req := createRequest{
		SpaceID: c.cfg.SpaceID, Status: "current", Title: title, ParentID: c.cfg.ParentID,
		Body: storageBody{Representation: "storage", Value: doc.Confluence},
	}
	// A create is safe to resend: a duplicate is refused for its title and
	// then found and updated.
	ctx = outbound.WithIdempotent(outbound.WithOperation(ctx, "pages.create"))
	var p page
	status, msg, err := c.do(ctx, http.MethodPost, "/api/v2/pages", req, &p)
	if err != nil {
		return page{}, fmt.Errorf("confluence create page: %w", err)
	}
	if status == http.StatusBadRequest && strings.Contains(strings.ToLower(msg), "already exists") {
		return page{}, errTitleTaken
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return page{}, fmt.Errorf("confluence create page: %w", c.statusError(status, msg, nil))
	}
	return p, nil
}

func (c *Client) get(ctx context.Context, id string) (page, error) {
	var p page
	status, msg, err := c.do(outbound.WithOperation(ctx, "pages.get"), http.MethodGet, "/api/v2/pages/"+url.PathEscape(id), nil, &p)
	if err != nil {
		return page{}, fmt.Errorf("confluence get page: %w", err)
	}
	if status != http.StatusOK {
		return page{}, fmt.Errorf("confluence get page %s: %w", id, c.statusError(status, msg, nil))
	}
	return p, nil
}

// update writes the draft as the next version of page id, reading the
// current version first and once more after a conflict.
func (c *Client) update(ctx context.Context, id, title string, doc incident.PostmortemDoc) (incident.ExportRef, error) {
	for attempt := 1; ; attempt++ {
		cur, err := c.get(ctx, id)
		if err != nil {
			return incident.ExportRef{}, err
		}
		req := updateRequest{ID: id, Status: "current", Title: title,
			Body: storageBody{Representation: "storage", Value: doc.Confluence}}
		req.Version.Number = cur.Version.Number + 1
		req.Version.Message = "Updated by firebreak"
		var p page
		status, msg, err := c.do(outbound.WithOperation(ctx, "pages.update"), http.MethodPut, "/api/v2/pages/"+url.PathEscape(id), req, &p)
		if err != nil {
			return incident.ExportRef{}, fmt.Errorf("confluence update page: %w", err)
		}
		switch {
		case status == http.StatusOK:
			c.logger.Info("confluence page updated", slog.String("incident", doc.IncidentKey),
				slog.String("page_id", id), slog.Int("version", p.Version.Number))
			return c.ref(p), nil
		case status == http.StatusConflict && attempt == 1:
			// Someone saved the page between our read and our write.
			continue
		case status == http.StatusConflict:
			return incident.ExportRef{}, fmt.Errorf("confluence update page %s: %w", id, incident.Errorf(incident.ECONFLICT,
				"The Confluence page is being edited by someone else; export again in a moment."))
		}
		return incident.ExportRef{}, fmt.Errorf("confluence update page %s: %w", id, c.statusError(status, msg, nil))
	}
}

// findByTitle returns the id of the current page with this title in the
// space.
func (c *Client) findByTitle(ctx context.Context, title string) (string, error) {
	q := url.Values{"title": {title}, "space-id": {c.cfg.SpaceID}, "status": {"current"}}
	var res struct {
		Results []page `json:"results"`
	}
	status, msg, err := c.do(outbound.WithOperation(ctx, "pages.find"), http.MethodGet, "/api/v2/pages?"+q.Encode(), nil, &res)
	if err != nil {
		return "", fmt.Errorf("confluence find page: %w", err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("confluence find page: %w", c.statusError(status, msg, nil))
	}
	for _, p := range res.Results {
		if p.Title == title && p.ID != "" {
			return p.ID, nil
		}
	}
	return "", fmt.Errorf("confluence find page: %w", incident.Errorf(incident.ECONFLICT,
		"Confluence says a page titled %q exists, but it is not in the space with id %s or cannot be read.", title, c.cfg.SpaceID))
}

func (c *Client) ref(p page) incident.ExportRef {
	link := ""
	if p.Links.WebUI != "" {
		link = c.base + "/" + strings.TrimLeft(p.Links.WebUI, "/")
	}
	return incident.ExportRef{Target: Target, ID: p.ID, URL: link, Version: p.Version.Number}
}

// do sends one request and decodes a 2xx JSON answer into out. It returns
// the status and, for any other status, the error message Confluence gave.
// Only a failure to reach Confluence or to decode a success is an error; the
// caller decides what each status means. A 401, 403, 429 or 5xx is turned
// into its error here, since it means the same for every call.
func (c *Client) do(ctx context.Context, method, path string, in, out any) (int, string, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, "", fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	req.SetBasicAuth(c.cfg.Email, c.cfg.APIToken)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var unavailable *outbound.UnavailableError
		if errors.As(err, &unavailable) {
			return 0, "", err
		}
		// Not through the outbound client: report it the same way.
		return 0, "", &outbound.UnavailableError{Provider: Target, Name: "Confluence", Cause: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, "", &outbound.UnavailableError{Provider: Target, Name: "Confluence", Status: resp.StatusCode, Cause: err}
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if out != nil && len(raw) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return code, "", fmt.Errorf("decode response: %w", err)
			}
		}
		return code, "", nil
	case code == http.StatusUnauthorized, code == http.StatusForbidden, code == http.StatusTooManyRequests, code >= 500:
		return code, "", c.statusError(code, errorMessage(raw), resp.Header)
	default:
		return code, errorMessage(raw), nil
	}
}

// statusError maps a refused request to an error with an incident code.
func (c *Client) statusError(status int, msg string, h http.Header) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return incident.Errorf(incident.EFORBIDDEN,
			"Confluence refused the credentials (HTTP %d): check the account e-mail and API token, and that the account may add pages to the space with id %s.", status, c.cfg.SpaceID)
	case status == http.StatusNotFound:
		what := "the space with id " + c.cfg.SpaceID
		if c.cfg.ParentID != "" {
			what += " or the parent page " + c.cfg.ParentID
		}
		return incident.Errorf(incident.ENOTFOUND, "Confluence cannot find the page or %s.", what)
	case status == http.StatusTooManyRequests:
		return &outbound.RateLimitedError{Provider: Target, Name: "Confluence", Wait: outbound.RetryAfterOr(h, c.now(), defaultRetryAfter)}
	case status >= 500:
		return &outbound.UnavailableError{Provider: Target, Name: "Confluence", Status: status, Attempts: 1}
	case status == http.StatusConflict:
		return incident.Errorf(incident.ECONFLICT, "Confluence refused the change as conflicting: %s", clip(msg))
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return incident.Errorf(incident.EINVALID, "Confluence rejected the page (HTTP %d): %s", status, clip(msg))
}

// errorMessage pulls the message out of Confluence's error bodies: v2's
// {"errors":[{"title":...,"detail":...}]} and v1's {"message":...}.
func errorMessage(raw []byte) string {
	var e struct {
		Errors []struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return strings.TrimSpace(string(raw))
	}
	var parts []string
	for _, x := range e.Errors {
		if x.Title != "" {
			parts = append(parts, x.Title)
		}
		if x.Detail != "" {
			parts = append(parts, x.Detail)
		}
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	return strings.Join(parts, "; ")
}

// clip keeps a provider's message short enough for a Slack reply.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	return s
}
