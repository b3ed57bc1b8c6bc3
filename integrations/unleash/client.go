// Package unleash reads flag changes from Unleash's event log, turns a flag
// off in an environment to roll a change back, and receives Unleash's
// webhook integration. It implements incident.ChangeSource and
// incident.Rollbacker with plain HTTP against the Admin API, through the
// *http.Client that package outbound hands out.
//
// Vendor facts it relies on (platform-facts.md section 4.2, checked
// against the unleash-server sources):
//   - Events come from the event search of Unleash 6 and 7,
//     GET /api/admin/search/events (EventsPath), filtered with
//     feature=IS:<name>, project=IS:<project>, from/to=IS:yyyy-MM-dd and
//     paged with offset and limit; it answers {"events": [...], "total": n}.
//     The older GET /api/admin/events (ADMIN only) is not used. Dates are
//     whole days, so the client filters to [from, to] itself.
//   - A flag is turned off with POST
//     /api/admin/projects/{project}/features/{name}/environments/{env}/off.
//   - Authorization carries the admin or personal access token as is.
//   - A change the token may not make is answered 403 with a
//     PermissionError whose permissions name what it lacks:
//     SKIP_CHANGE_REQUEST where the environment takes changes only through
//     change requests.
//   - The webhook integration has no signature; it sends a configured
//     Authorization header verbatim, which serves as a shared secret.
package unleash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/flagoff"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Source is the ChangeEvent.Source of every change this package reports.
const Source = incident.ProviderUnleash

// EventsPath is the event search endpoint (Unleash 6 and 7).
const EventsPath = "/api/admin/search/events"

// Limits of the client.
const (
	eventsPageSize = 100
	// maxEventPages bounds one Changes call to 2000 events per flag.
	maxEventPages     = 20
	maxResponseBytes  = 4 << 20
	defaultRetryAfter = time.Minute
	// defaultProject is the project every Unleash instance has; a FlagRef
	// without a project means it.
	defaultProject = flagoff.DefaultProject
)

// Config configures a Client.
type Config struct {
	// APIURL is the Unleash base URL without /api, such as
	// https://unleash.example.com; it also roots the links to the UI.
	APIURL string
	// Token is an admin or personal access token; rollbacks need update
	// rights on the flags' environments.
	Token string
	// HTTPClient sends every request; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
	// Clock dates Retry-After values given as HTTP dates; nil means
	// incident.SystemClock.
	Clock incident.Clock
}

// Client talks to Unleash. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	http  *http.Client
	log   *slog.Logger
	clock incident.Clock
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
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = incident.SystemClock
	}
	return c
}

var (
	_ incident.ChangeSource        = (*Client)(nil)
	_ incident.CuttingChangeSource = (*Client)(nil)
	_ incident.Rollbacker          = (*Client)(nil)
)

// Name returns "Unleash".
func (c *Client) Name() string { return "Unleash" }

// eventPage is a page of the event search.
type eventPage struct {
	Events []event `json:"events"`
	Total  int     `json:"total"`
}

// Changes returns the changes to the service's Unleash flags with
// OccurredAt in [from, to], newest first. Events in another environment
// than the flag's are left out; events without an environment (such as
// feature-updated) are kept. EUNAVAILABLE when Unleash fails.
func (c *Client) Changes(ctx context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, error) {
	out, _, err := c.ChangesCut(ctx, svc, from, to)
	return out, err
}

// ChangesCut is Changes, with the flags that had more events around the
// window than maxEventPages pages hold: only the first pages of those are
// read.
func (c *Client) ChangesCut(ctx context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, []incident.SourceCut, error) {
	var out []incident.ChangeEvent
	var cuts []incident.SourceCut
	seen := map[string]bool{}
	for _, f := range svc.Flags {
		if f.Provider != Source {
			continue
		}
		events, more, err := c.events(ctx, f, from, to)
		if err != nil {
			return nil, nil, fmt.Errorf("unleash: list changes of flag %s: %w", f.Key, err)
		}
		if more {
			cuts = append(cuts, incident.SourceCut{Source: c.Name(), What: "events of flag " + f.Key, Read: len(events)})
		}
		for _, e := range events {
			ch, ok := e.change(c.base)
			if !ok || ch.Ref != f.Key || seen[ch.ExternalID] || ch.OccurredAt.Before(from) || ch.OccurredAt.After(to) {
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

// events pages through the event search for one flag; more reports that
// it stopped at maxEventPages with events left.
func (c *Client) events(ctx context.Context, f incident.FlagRef, from, to time.Time) (_ []event, more bool, _ error) {
	q := url.Values{}
	q.Set("feature", "IS:"+f.Key)
	q.Set("project", "IS:"+projectOf(f.Project))
	// Whole days, inclusive on both ends as far as the docs say; a day
	// more on each side costs little and the client filters exactly.
	q.Set("from", "IS:"+from.UTC().AddDate(0, 0, -1).Format(time.DateOnly))
	q.Set("to", "IS:"+to.UTC().AddDate(0, 0, 1).Format(time.DateOnly))
	q.Set("limit", strconv.Itoa(eventsPageSize))

	ctx = outbound.WithOperation(ctx, "events.search")
	var all []event
	for page := 0; ; page++ {
		if page == maxEventPages {
			c.log.Warn("unleash event search has more pages than read; older changes are left out",
				slog.String("flag", f.Key), slog.Int("pages", page))
			return all, true, nil
		}
		q.Set("offset", strconv.Itoa(len(all)))
		var p eventPage
		if err := c.do(ctx, http.MethodGet, EventsPath+"?"+q.Encode(), &p, ""); err != nil {
			return nil, false, err
		}
		all = append(all, p.Events...)
		if len(p.Events) == 0 || len(all) >= p.Total {
			return all, false, nil
		}
	}
}

func projectOf(p string) string {
	if p == "" {
		return defaultProject
	}
	return p
}

// do sends one request to pathQuery (relative to the base URL) and decodes
// a 2xx JSON response into out when out is not nil. notFound is the
// user-safe message for a 404.
func (c *Client) do(ctx context.Context, method, pathQuery string, out any, notFound string) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+pathQuery, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", c.token)
	req.Header.Set("Accept", "application/json")
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
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return incident.Errorf(incident.EUNAVAILABLE, "Unleash returned a response the bot could not read.")
	}
	return nil
}

// errorBody is Unleash's error answer.
type errorBody struct {
	Message string `json:"message"`
	Details []struct {
		Message string `json:"message"`
	} `json:"details"`
	// Permissions names what a PermissionError (403) lacks.
	Permissions []string `json:"permissions"`
}

// message is the body's sentence, cut to a length fit for a reply.
func (b errorBody) message(code int) string {
	msg := strings.TrimSpace(b.Message)
	if msg == "" && len(b.Details) > 0 {
		msg = strings.TrimSpace(b.Details[0].Message)
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	return msg
}

// statusError turns a non-2xx response to a method request into a domain
// error. A rejected token makes the source unavailable when reading, and
// refuses a change for good: trying again will not give the token the
// right, nor skip the change request an environment requires.
func (c *Client) statusError(method string, resp *http.Response, data []byte, notFound string) error {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests:
		return &outbound.RateLimitedError{Provider: Source, Wait: outbound.RetryAfterOr(resp.Header, c.clock.Now(), defaultRetryAfter)}
	case code >= 500 || code == http.StatusRequestTimeout:
		return &outbound.UnavailableError{Provider: Source, Status: code}
	case code == http.StatusNotFound:
		if notFound == "" {
			notFound = "Unleash could not find what the bot asked for (HTTP 404)."
		}
		return incident.Errorf(incident.ENOTFOUND, "%s", notFound)
	}
	var body errorBody
	_ = json.Unmarshal(data, &body)
	switch {
	case code != http.StatusUnauthorized && code != http.StatusForbidden:
		return incident.Errorf(incident.EINVALID, "Unleash refused the request (HTTP %d): %s", code, body.message(code))
	case method == http.MethodGet:
		return incident.Errorf(incident.EUNAVAILABLE, "Unleash rejected the bot's API token (HTTP %d); check the token and its permissions.", code)
	case slices.Contains(body.Permissions, "SKIP_CHANGE_REQUEST"):
		return incident.Errorf(incident.EFORBIDDEN, "Unleash takes changes to this environment only through a change request (HTTP %d); turn the flag off in Unleash, or let the bot's token skip change requests.", code)
	}
	return incident.Errorf(incident.EFORBIDDEN, "Unleash refused the bot's API token the change (HTTP %d): %s", code, body.message(code))
}
