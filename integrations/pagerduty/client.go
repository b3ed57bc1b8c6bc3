package pagerduty

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Default endpoints, used for empty Config fields.
const (
	DefaultAPIURL    = "https://api.pagerduty.com"
	DefaultEventsURL = "https://events.pagerduty.com"
)

// Source is the Events API v2 payload.source of our trigger events.
const Source = "firebreak"

// maxSummary is the Events API v2 limit on payload.summary, in characters.
const maxSummary = 1024

// Config configures a Client. Only HTTPClient is required for an Events API
// v2 setup; a REST setup also needs Token and FromEmail.
type Config struct {
	// APIURL is the REST API base URL; empty means DefaultAPIURL.
	APIURL string
	// EventsURL is the Events API base URL (without /v2/enqueue); empty
	// means DefaultEventsURL.
	EventsURL string
	// Token is a REST API token. Empty limits the client to Events API v2.
	Token string
	// FromEmail is the e-mail of the PagerDuty user the bot acts as when a
	// request names nobody (resolving, paging without a declarer).
	FromEmail string
	// HTTPClient sends every request; pass one from outbound.Client so the
	// shared retry and breaker policy applies. Nil means a plain client,
	// which is only sensible in tests.
	HTTPClient *http.Client
	// Logger receives one line per page and per degraded backup page. It
	// never receives the token or routing keys. Nil discards.
	Logger *slog.Logger
	// Clock dates pages and reads HTTP-date Retry-After values; nil means
	// incident.SystemClock.
	Clock incident.Clock
	// Services looks up our service by key. It is needed to acknowledge or
	// resolve a page sent with an Events API v2 routing key, since a Page
	// records the service key and not the key itself (routing keys are
	// secrets and stay out of the database). Nil means such pages cannot be
	// acknowledged or resolved from here.
	Services func(key string) (incident.ServicePolicy, bool)
}

// Client pages through PagerDuty. It is safe for concurrent use.
type Client struct {
	pd       *pagerduty.Client
	hasToken bool
	from     string
	log      *slog.Logger
	clock    incident.Clock
	services func(string) (incident.ServicePolicy, bool)
}

var _ incident.Pager = (*Client)(nil)

// New returns a Client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Client{
		hasToken: cfg.Token != "",
		from:     cfg.FromEmail,
		log:      cfg.Logger,
		clock:    cfg.Clock,
		services: cfg.Services,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = incident.SystemClock
	}
	c.pd = pagerduty.NewClient(cfg.Token,
		pagerduty.WithAPIEndpoint(strings.TrimRight(cmp.Or(cfg.APIURL, DefaultAPIURL), "/")),
		pagerduty.WithV2EventsAPIEndpoint(strings.TrimRight(cmp.Or(cfg.EventsURL, DefaultEventsURL), "/")))
	c.pd.HTTPClient = recordingDoer{hc: hc}
	return c
}

// WithService returns a Client that follows up the pages of svc's key
// (acknowledges, resolves and escalates them, and says whom they reached)
// with svc's PagerDuty configuration instead of the one Config.Services
// gives for the key: the pages of a drill, sent to the drills' test
// service, are followed up there.
func (c *Client) WithService(svc incident.ServicePolicy) incident.Pager {
	out := *c
	lookup := c.services
	out.services = func(key string) (incident.ServicePolicy, bool) {
		if key == svc.Key {
			return svc, true
		}
		if lookup == nil {
			return incident.ServicePolicy{}, false
		}
		return lookup(key)
	}
	return &out
}

// Enabled reports whether svc can be paged: with the REST API (a token and
// the service's ServiceID) or with Events API v2 (a RoutingKey).
func (c *Client) Enabled(svc incident.ServicePolicy) bool {
	return c.useREST(svc) || svc.PagerDuty.RoutingKey != ""
}

func (c *Client) useREST(svc incident.ServicePolicy) bool {
	return c.hasToken && svc.PagerDuty.ServiceID != ""
}

// call runs one SDK call with an exchange recorder and a metrics operation
// name, and translates its error. idempotent marks a POST that PagerDuty
// deduplicates, so the outbound client may retry it after a 5xx.
func (c *Client) call(ctx context.Context, op string, idempotent bool, fn func(ctx context.Context) error) error {
	x := &exchange{}
	ctx = context.WithValue(ctx, exchangeKey{}, x)
	ctx = outbound.WithOperation(ctx, op)
	if idempotent {
		ctx = outbound.WithIdempotent(ctx)
	}
	return c.translate(op, x, fn(ctx))
}

func (c *Client) needToken() error {
	if !c.hasToken {
		return incident.Errorf(incident.EINVALID,
			"This page is a PagerDuty incident and the bot has no PagerDuty REST API token; set the token.")
	}
	return nil
}

// manage sets the status of the incident with id (Manage incidents, as from)
// and returns when, by PagerDuty's clock, the incident's status last
// changed as its answer says (changedAt), zero when the answer omits it.
func (c *Client) manage(ctx context.Context, from, id, status string) (time.Time, error) {
	var res *pagerduty.ListIncidentsResponse
	err := c.call(ctx, "incidents.manage", false, func(ctx context.Context) error {
		var err error
		res, err = c.pd.ManageIncidentsWithContext(ctx, from, []pagerduty.ManageIncidentsOptions{{ID: id, Status: status}})
		return err
	})
	if err != nil || res == nil {
		return time.Time{}, err
	}
	for i := range res.Incidents {
		if res.Incidents[i].ID == id {
			return changedAt(&res.Incidents[i]), nil
		}
	}
	return time.Time{}, nil
}

// changedAt is when, by PagerDuty's clock, the incident's status last
// changed: its last_status_change_at, which for an incident neither
// acknowledged nor resolved is its updated_at (so an escalation or a
// reassignment counts too); else its updated_at or created_at. Zero when
// it gives none. PagerDuty gives these to the second.
func changedAt(inc *pagerduty.Incident) time.Time {
	for _, s := range []string{inc.LastStatusChangeAt, inc.UpdatedAt, inc.CreatedAt} {
		if t, err := time.Parse(time.RFC3339, s); s != "" && err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// userByEmail finds the PagerDuty user with email. PagerDuty's query
// matches names and e-mails by substring, so the result is filtered for an
// exact e-mail.
func (c *Client) userByEmail(ctx context.Context, email string) (*pagerduty.User, error) {
	var list *pagerduty.ListUsersResponse
	err := c.call(ctx, "users.list", false, func(ctx context.Context) error {
		var err error
		list, err = c.pd.ListUsersWithContext(ctx, pagerduty.ListUsersOptions{Query: email, Limit: 100})
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range list.Users {
		if strings.EqualFold(list.Users[i].Email, email) {
			return &list.Users[i], nil
		}
	}
	return nil, incident.Errorf(incident.ENOTFOUND, "No PagerDuty user has the e-mail %s.", email)
}

func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

func serviceName(svc incident.ServicePolicy) string {
	return cmp.Or(svc.Name, svc.Key)
}

func userName(u pagerduty.User) string {
	return cmp.Or(u.Name, u.Summary, u.Email, u.ID)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
