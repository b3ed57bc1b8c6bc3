package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/integrations/confluence"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/instatus"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/outbound"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/statuspage"
	"github.com/firebreakhq/firebreak/integrations/unleash"
)

// providers are the integrations the configuration turns on, as the domain
// sees them.
type providers struct {
	pager       *pagerduty.Client
	github      *github.Client // nil without GITHUB_TOKEN
	sources     []incident.ChangeSource
	rollbackers []incident.Rollbacker
	exporters   []incident.Exporter
	statusPages []comms.StatusPage
}

// buildProviders constructs every configured integration, each with its
// own resilient HTTP client.
func buildProviders(cfg Config, policy incident.Policy, clock incident.Clock, log *slog.Logger, newOut func(outbound.Policy) *outbound.Client) (providers, error) {
	var p providers
	routingKeys := false
	for _, svc := range policy.Services {
		routingKeys = routingKeys || svc.PagerDuty.RoutingKey != ""
	}
	if cfg.PagerDuty.Token != "" || routingKeys {
		p.pager = pagerduty.New(pagerduty.Config{
			APIURL: cfg.PagerDuty.APIURL, EventsURL: cfg.PagerDuty.EventsURL, Token: cfg.PagerDuty.Token.Reveal(),
			FromEmail: cfg.PagerDuty.FromEmail, Logger: log, Clock: clock,
			HTTPClient: newOut(outbound.Policy{Provider: "pagerduty", Retryable: pagerDutyRetryable}).HTTPClient(),
			Services: func(key string) (incident.ServicePolicy, bool) {
				svc, ok := policy.Services[key]
				return svc, ok
			},
		})
	}
	if cfg.GitHub.Token != "" {
		gh, err := github.New(github.Config{APIURL: cfg.GitHub.APIURL, Token: cfg.GitHub.Token.Reveal(), Logger: log, Clock: clock,
			HTTPClient: newOut(outbound.Policy{Provider: "github", Operation: outbound.GitHubOperation, RetryAfter: github.RetryAfter}).HTTPClient(),
			ExportRepo: cfg.GitHub.PostmortemRepo, ExportMode: cfg.GitHub.PostmortemMode, ActionItemIssues: cfg.GitHub.ActionItemIssues})
		if err != nil {
			return p, fmt.Errorf("GITHUB_*: %w", err)
		}
		p.github = gh
		p.sources = append(p.sources, gh)
		p.rollbackers = append(p.rollbackers, gh)
		if cfg.GitHub.PostmortemRepo != "" {
			p.exporters = append(p.exporters, gh)
		}
	}
	if cfg.LD.Token != "" {
		ld := launchdarkly.New(launchdarkly.Config{APIURL: cfg.LD.APIURL, Token: cfg.LD.Token.Reveal(), Logger: log, Clock: clock,
			HTTPClient: newOut(outbound.Policy{Provider: "launchdarkly", RetryAfter: launchdarkly.RetryAfter}).HTTPClient()})
		p.sources = append(p.sources, ld)
		p.rollbackers = append(p.rollbackers, ld)
	}
	if cfg.Unleash.APIURL != "" {
		un := unleash.New(unleash.Config{APIURL: cfg.Unleash.APIURL, Token: cfg.Unleash.Token.Reveal(), Logger: log, Clock: clock,
			HTTPClient: newOut(outbound.Policy{Provider: "unleash"}).HTTPClient()})
		p.sources = append(p.sources, un)
		p.rollbackers = append(p.rollbackers, un)
	}
	// Posts are not retried by the transport (no idempotency key): the
	// durable job retries them, recovering what an interrupted attempt posted.
	if cfg.StatusPage.APIKey != "" && cfg.StatusPage.PageID != "" {
		p.statusPages = append(p.statusPages, statuspage.New(statuspage.Config{APIURL: cfg.StatusPage.APIURL,
			APIKey: cfg.StatusPage.APIKey.Reveal(), PageID: cfg.StatusPage.PageID, Logger: log, Clock: clock,
			HTTPClient: newOut(outbound.Policy{Provider: statuspage.Provider}).HTTPClient()}))
	}
	if cfg.Instatus.APIKey != "" && cfg.Instatus.PageID != "" {
		p.statusPages = append(p.statusPages, instatus.New(instatus.Config{APIURL: cfg.Instatus.APIURL,
			APIKey: cfg.Instatus.APIKey.Reveal(), PageID: cfg.Instatus.PageID, PageURL: cfg.Instatus.PageURL, Logger: log, Clock: clock,
			HTTPClient: newOut(outbound.Policy{Provider: instatus.Provider}).HTTPClient()}))
	}
	if cfg.Confluence.URL != "" {
		p.exporters = append(p.exporters, confluence.New(confluence.Config{Flavor: confluence.Flavor(cfg.Confluence.Flavor),
			BaseURL: cfg.Confluence.URL, Email: cfg.Confluence.Email,
			APIToken: cfg.Confluence.APIToken.Reveal(), SpaceID: cfg.Confluence.SpaceID, ParentID: cfg.Confluence.ParentID, Logger: log,
			HTTPClient: newOut(outbound.Policy{Provider: "confluence"}).HTTPClient()}))
	}
	return p, nil
}

// pagerOrNil keeps a nil *pagerduty.Client from becoming a non-nil
// interface holding nil.
func (p providers) pagerOrNil() incident.Pager {
	if p.pager == nil {
		return nil
	}
	return p.pager
}

// pagerDutyRetryable says which PagerDuty requests may be sent again after a
// 5xx or a timeout: not an update of incidents that escalates or reassigns
// them, whose repeat could wake people again; the job that asked checks
// PagerDuty's incident before asking again. Everything else follows
// outbound.DefaultRetryable (acknowledging or resolving twice changes
// nothing, and an Events API page carries its dedup key).
func pagerDutyRetryable(req *http.Request) bool {
	if req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/incidents") {
		if req.GetBody == nil {
			return false
		}
		body, err := req.GetBody()
		if err != nil {
			return false
		}
		defer body.Close()
		b, err := io.ReadAll(io.LimitReader(body, 1<<20))
		if err != nil || bytes.Contains(b, []byte(`"escalation_level"`)) || bytes.Contains(b, []byte(`"assignments"`)) {
			return false
		}
	}
	return outbound.DefaultRetryable(req)
}
