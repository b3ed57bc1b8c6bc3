package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/followthrough"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/integrations/alerting"
	"github.com/firebreakhq/firebreak/integrations/changehook"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/unleash"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// webhookRoutes lists the inbound webhooks the configuration turns on. Each
// verifies its provider's signature on the raw body before parsing.
// gh, the GitHub client, tells the bot's own action item issues from
// others'; nil, none counts. ignored counts the PagerDuty, LaunchDarkly and
// Unleash deliveries of event types the bot drops, and the Alertmanager and
// Grafana alerts left out as invalid; nil, each handler keeps its own,
// unregistered.
func webhookRoutes(cfg Config, svc *incident.Service, alrt *alerts.Service, ft *followthrough.Service, pg *paging.Service, chg *changes.Service,
	gh *github.Client, deliveries alerting.Deliveries, clock incident.Clock, log *slog.Logger, ignored *webhook.Ignored) []webhookRoute {
	var routes []webhookRoute
	if cfg.PagerDuty.WebhookSecret != "" {
		// Several secrets, comma-separated, allow rotating the secret.
		secrets := secretList(cfg.PagerDuty.WebhookSecret)
		var opts []pagerduty.WebhookOption
		if ignored != nil {
			opts = append(opts, pagerduty.WithIgnored(ignored))
		}
		if cfg.Alerts.PagerDutyTriggered {
			opts = append(opts, pagerduty.WithAlerts(alrt.HandleAlert))
		}
		routes = append(routes, webhookRoute{"/webhooks/pagerduty", pagerduty.NewWebhookHandler(secrets, pg.HandlePageEvent, log, opts...)})
	}
	if cfg.GitHub.WebhookSecret != "" {
		// GitHub reports every state of a deployment under one id: a later
		// state is a duplicate change, but still moves a rollback on.
		sink := func(ctx context.Context, c incident.ChangeEvent) error {
			if err := chg.RecordChange(ctx, c); incident.ErrorCode(err) != incident.ECONFLICT {
				return err
			}
			return nil
		}
		opts := []github.WebhookOption{github.WithIssueClosed(func(ctx context.Context, key string, id int64, url string) error {
			return ft.CompleteActionItem(ctx, key, id, "GitHub issue closed", url)
		})}
		if gh != nil {
			opts = append(opts, github.WithBotIdentity(gh))
		}
		routes = append(routes, webhookRoute{"/webhooks/github", github.NewWebhookHandler(cfg.GitHub.WebhookSecret.Reveal(), sink, log, opts...)})
	}
	if cfg.LD.WebhookSecret != "" {
		opts := []launchdarkly.WebhookOption{launchdarkly.WithSiteURL(cfg.LD.APIURL)}
		if ignored != nil {
			opts = append(opts, launchdarkly.WithIgnored(ignored))
		}
		routes = append(routes, webhookRoute{"/webhooks/launchdarkly", launchdarkly.NewWebhookHandler(cfg.LD.WebhookSecret.Reveal(), chg.RecordChange, log, opts...)})
	}
	if cfg.Unleash.WebhookSecret != "" {
		opts := []unleash.WebhookOption{unleash.WithUIURL(cfg.Unleash.APIURL)}
		if ignored != nil {
			opts = append(opts, unleash.WithIgnored(ignored))
		}
		routes = append(routes, webhookRoute{"/webhooks/unleash", unleash.NewWebhookHandler(cfg.Unleash.WebhookSecret.Reveal(), chg.RecordChange, log, opts...)})
	}
	if cfg.ChangesWebhookSecret != "" {
		routes = append(routes, webhookRoute{"/webhooks/changes", changehook.NewHandler(cfg.ChangesWebhookSecret.Reveal(), chg.RecordChange, log,
			changehook.WithServices(svc.Policy().ServiceKeys()))})
	}
	if cfg.Alerts.AlertmanagerToken != "" {
		auth := alerting.Auth{Tokens: secretList(cfg.Alerts.AlertmanagerToken)}
		routes = append(routes, webhookRoute{"/webhooks/alertmanager", alerting.NewAlertmanagerHandler(auth, alrt.HandleAlerts, log, alerting.WithIgnored(ignored))})
	}
	if cfg.Alerts.GrafanaToken != "" || cfg.Alerts.GrafanaHMACSecret != "" {
		// A signed delivery is taken once across replicas: the delivery
		// records are shared.
		auth := alerting.Auth{Tokens: secretList(cfg.Alerts.GrafanaToken),
			HMACSecrets:     secretList(cfg.Alerts.GrafanaHMACSecret),
			SignatureHeader: cfg.Alerts.GrafanaSignatureHeader, TimestampHeader: cfg.Alerts.GrafanaTimestampHeader,
			Deliveries: deliveries, Now: clock.Now}
		routes = append(routes, webhookRoute{"/webhooks/grafana", alerting.NewGrafanaHandler(auth, alrt.HandleAlerts, log, alerting.WithIgnored(ignored))})
	}
	return routes
}

// secretList reads a secret that may hold several, comma-separated while
// one is rotated ("old, new"): each is trimmed, as a signature or token
// never starts or ends with a space, and empty ones are dropped.
func secretList(s Secret) []string {
	var out []string
	for _, part := range strings.Split(s.Reveal(), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
