package incident

import "strings"

// The keys of the providers firebreak talks to, as stored in pages,
// changes, alerts and status page posts.
const (
	ProviderAlertmanager = "alertmanager"
	ProviderConfluence   = "confluence"
	ProviderGitHub       = "github"
	ProviderGrafana      = "grafana"
	ProviderInstatus     = "instatus"
	ProviderLaunchDarkly = "launchdarkly"
	ProviderPagerDuty    = "pagerduty"
	ProviderSlack        = "slack"
	ProviderStatuspage   = "statuspage"
	ProviderUnleash      = "unleash"
	// ProviderChangeWebhook is the generic change webhook's source.
	ProviderChangeWebhook = "webhook"
)

// providerNames is the one table of the names people write for the
// providers.
var providerNames = map[string]string{
	ProviderAlertmanager:  "Alertmanager",
	ProviderConfluence:    "Confluence",
	ProviderGitHub:        "GitHub",
	ProviderGrafana:       "Grafana",
	ProviderInstatus:      "Instatus",
	ProviderLaunchDarkly:  "LaunchDarkly",
	ProviderPagerDuty:     "PagerDuty",
	ProviderSlack:         "Slack",
	ProviderStatuspage:    "Statuspage",
	ProviderUnleash:       "Unleash",
	ProviderChangeWebhook: "Change webhook",
}

// ProviderName returns the name people write for a provider key, in any
// case ("pagerduty" gives "PagerDuty"); an unknown key is returned as is.
func ProviderName(key string) string {
	if name, ok := providerNames[strings.ToLower(key)]; ok {
		return name
	}
	return key
}
