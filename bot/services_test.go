package bot

import "github.com/firebreakhq/firebreak/incident"

// withService sets every feature service of cfg to svc.
func withService(cfg Config, svc *incident.Service) Config {
	cfg.Incidents, cfg.Updates, cfg.StatusPage, cfg.Paging = svc, svc, svc, svc
	cfg.Changes, cfg.Capture, cfg.FollowThrough, cfg.Alerts = svc, svc, svc, svc
	return cfg
}
