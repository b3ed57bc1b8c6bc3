package bot

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/followthrough"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/paging"
)

// withService sets every feature service of cfg to svc, and Capture,
// Alerts, Comms, FollowThrough and Paging to their services over the same
// store, chat and clock; the communication clock, publishing on pages,
// joins svc's lifecycle, and closing an incident schedules its review.
func withService(cfg Config, svc *incident.Service, store *incidenttest.MemStore, c interface{ Roles() incident.Chat }, pages ...comms.StatusPage) Config {
	chat := c.Roles()
	cfg.Incidents, cfg.Updates = svc, svc
	cfg.Paging = paging.New(paging.Config{Store: store, Core: svc, Chat: chat, Scheduler: cfg.Scheduler, Policy: svc.Policy(), Clock: cfg.Clock})
	cm := comms.New(comms.Config{Store: store, Core: svc, Chat: chat, Scheduler: cfg.Scheduler, StatusPages: pages, Policy: svc.Policy(), Clock: cfg.Clock})
	svc.Use(cm.Feature())
	if r, ok := cfg.Scheduler.(JobRegistrar); ok {
		cm.RegisterJobs(r)
	}
	cfg.StatusPage, cfg.Comms = cm.Publisher(), cm
	if cfg.Changes == nil {
		// "What changed?" is listed at declare, as the program wires it.
		chg := changes.New(changes.Config{Store: store, Core: svc, Chat: chat, Scheduler: cfg.Scheduler, Policy: svc.Policy(), Clock: cfg.Clock})
		if q, ok := cfg.Scheduler.(interface {
			Handle(kind string, h incident.JobHandler)
		}); ok {
			chg.RegisterJobs(q)
		}
		svc.Use(chg.Feature())
		cfg.Changes, cfg.Rollbacks = chg, chg.Rollbacks()
	}
	ft := followthrough.New(followthrough.Config{Store: store, Core: svc, Chat: chat, Scheduler: cfg.Scheduler, Policy: svc.Policy(), Clock: cfg.Clock})
	svc.Use(ft.Feature())
	cfg.FollowThrough = ft
	cfg.Capture = capture.New(capture.Config{Store: store, Chat: chat, Notifier: svc, Policy: svc.Policy(), Clock: cfg.Clock})
	cfg.Alerts = alerts.New(alerts.Config{Store: store, Core: svc, Chat: chat, Scheduler: cfg.Scheduler, Policy: svc.Policy(),
		Clock: cfg.Clock})
	return cfg
}

func TestNewNeedsEveryFeatureWithIncidents(t *testing.T) {
	t.Parallel()
	clock := incidenttest.NewClock(time.Date(2026, time.March, 14, 14, 5, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	q := incidenttest.NewQueue()
	chat := incidenttest.NewChat()
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Clock: clock})
	cfg := withService(Config{Scheduler: q, Clock: clock}, svc, store, chat)
	cfg.Paging, cfg.Alerts = nil, nil
	require.PanicsWithValue(t, "bot: Config.Incidents is set but not Paging, Alerts", func() { New(cfg) })
	cfg = withService(Config{Scheduler: q, Clock: clock}, svc, store, chat)
	require.NotPanics(t, func() { New(cfg) })
}
