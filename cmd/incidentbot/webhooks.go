package main

import (
	"log/slog"
	"strings"

	"github.com/incidentbot/incidentbot/incident"
	"github.com/incidentbot/incidentbot/integrations/pagerduty"
)

// webhookRoutes lists the inbound webhooks the configuration turns on. Each
// verifies its provider's signature on the raw body before parsing.
func webhookRoutes(cfg Config, svc *incident.Service, log *slog.Logger) []webhookRoute {
	var routes []webhookRoute
	if cfg.PagerDuty.WebhookSecret != "" {
		// Several secrets, comma-separated, allow rotating the secret.
		secrets := strings.Split(cfg.PagerDuty.WebhookSecret.Reveal(), ",")
		routes = append(routes, webhookRoute{"/webhooks/pagerduty", pagerduty.NewWebhookHandler(secrets, svc.HandlePageEvent, log)})
	}
	return routes
}
