package bot

import (
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
)

// withService sets every feature service of cfg to svc, and Capture to a
// capture service over the same store, chat and clock.
func withService(cfg Config, svc *incident.Service, store capture.Store, chat incident.ChatHistory) Config {
	cfg.Incidents, cfg.Updates, cfg.StatusPage, cfg.Paging = svc, svc, svc, svc
	cfg.Changes, cfg.FollowThrough, cfg.Alerts = svc, svc, svc
	cfg.Capture = capture.New(capture.Config{Store: store, Chat: chat, Notifier: svc, Policy: svc.Policy(), Clock: cfg.Clock})
	return cfg
}
