// Package bot is the Slack transport. It verifies and decodes what Slack sends
// (slash commands, interactivity payloads and Events API deliveries, over
// HTTP or Socket Mode), calls the domain, and renders the answer. It never
// imports the store or an integration.
package bot

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// Job kinds the transport schedules and handles.
const (
	JobSlackEvent = "slack.event"
)

// JobRegistrar registers job handlers with the job engine.
type JobRegistrar interface {
	Handle(kind string, h incident.JobHandler)
}

// EventHandler processes one Events API inner event, already deduplicated.
// eventType is the inner event's "type" field; raw is the whole envelope.
type EventHandler func(ctx context.Context, eventType string, raw []byte) error

// PostmortemService drafts and exports postmortems.
type PostmortemService interface {
	ScheduleDraft(ctx context.Context, inc *incident.Incident) error
	Export(ctx context.Context, id int64, target, actor string, reply incident.ReplyTarget) error
	// Targets lists the configured export targets ("confluence", "github").
	Targets() []string
}

// Config holds the transport's dependencies.
type Config struct {
	// Command is the slash command the app registers, "/incident" by default.
	Command string
	// SigningSecret verifies HTTP requests; unused in Socket Mode.
	SigningSecret string
	// Slack is the Web API client.
	Slack *slack.Client
	// Incidents declares, finds and changes incidents; nil turns the
	// incident commands off. When it is set, the feature services below
	// must be set too.
	Incidents IncidentService
	// Updates posts status updates.
	Updates UpdateService
	// StatusPage drafts and publishes the public status page.
	StatusPage StatusPageService
	// Comms keeps the communication clock and renders the comms drafts.
	Comms CommsService
	// Paging pages responders.
	Paging PagingService
	// Changes lists recent changes; Rollbacks rolls them back.
	Changes   ChangeService
	Rollbacks RollbackService
	// Capture records the channel on the timeline.
	Capture CaptureService
	// FollowThrough lists follow-ups and keeps the review.
	FollowThrough FollowThroughService
	// Alerts turns proposed alerts into incidents.
	Alerts AlertService
	// Postmortems drafts and exports postmortems; nil turns them off.
	Postmortems PostmortemService
	// Metrics answers /incident metrics; nil turns the command off.
	Metrics MetricsService
	// WebURL is the web view's address, linked from the metrics reply; empty
	// leaves the link out.
	WebURL string
	// Scheduler takes the work that must not run on the 3-second path.
	Scheduler incident.Scheduler
	// Replays shares the signatures of accepted requests with the other
	// processes on the same database; nil keeps the replay check in this
	// process's memory only.
	Replays ReplayRecords
	// People takes what Slack reports of people's standing (user_change
	// and team_join events): *Chat's PersonChanged. Nil ignores them.
	People PeopleService
	Clock  incident.Clock
	Logger *slog.Logger
	// Registerer receives the transport's metrics; nil means none.
	Registerer prometheus.Registerer
	// MaxBodyBytes bounds an inbound request body (default 1 MiB).
	MaxBodyBytes int64
	// MetadataKey seals the private_metadata of the forms the bot opens;
	// replicas must share it. Empty: a random key, good for one process.
	MetadataKey []byte
	// AckDeadline bounds the work before a command or an interaction is
	// answered (default DefaultAckDeadline).
	AckDeadline time.Duration
	// MaxInFlight bounds the Slack requests handled at once (default
	// DefaultMaxInFlight).
	MaxInFlight int
}

// Handler is the router: it turns Slack requests into domain calls. Both
// transports (HTTP and Socket Mode) feed the same Handler, which checks
// signatures, admits requests within its bound and answers within the
// acknowledgement deadline; it dispatches each subcommand, button, form,
// shortcut and event on the table the feature handlers declare.
type Handler struct {
	cfg     Config
	kit     *kit
	replies *Chat
	log     *slog.Logger
	metrics *metrics
	// The dispatch table, from every feature's.
	commands  []command
	events    map[string]EventHandler
	actions   map[string]action
	views     map[string]view
	shortcuts map[string]ShortcutHandler
	replay    *replayGuard
	inFlight  chan struct{}
	homes     *homeGuard
	socket    socketHealth

	helpOnce  sync.Once
	helpReply Reply
}

// New returns a Handler. Slack and Scheduler are required; with
// Incidents set, every feature service must be set too (New panics otherwise).
func New(cfg Config) *Handler {
	cfg = withDefaults(cfg)
	h := &Handler{
		cfg:       cfg,
		log:       cfg.Logger,
		metrics:   newMetrics(cfg.Registerer),
		events:    map[string]EventHandler{},
		actions:   map[string]action{},
		views:     map[string]view{},
		shortcuts: map[string]ShortcutHandler{},
		inFlight:  make(chan struct{}, cfg.MaxInFlight),
		homes:     &homeGuard{log: cfg.Logger, clock: cfg.Clock},
	}
	if api := cfg.Slack; api != nil {
		h.homes.learn = func(ctx context.Context) (workspace, error) {
			resp, err := api.AuthTestContext(ctx)
			if err != nil {
				return workspace{}, err
			}
			return workspace{team: resp.TeamID, enterprise: resp.EnterpriseID}, nil
		}
	}
	h.replay = &replayGuard{records: cfg.Replays, instance: newInstanceName(), clock: cfg.Clock, log: cfg.Logger, onReplay: func(string) {
		h.metrics.requests.WithLabelValues("command", "replayed_elsewhere").Inc()
		h.log.Warn("a request accepted here was also accepted by another replica (a replay)")
	}}
	h.kit = &kit{incidents: cfg.Incidents, slack: cfg.Slack, seals: sealer{key: cfg.MetadataKey}, log: cfg.Logger,
		clock: cfg.Clock, command: cfg.Command}
	if len(h.kit.seals.key) == 0 {
		h.kit.seals.key = newMetadataKey()
	}
	if cfg.Slack != nil {
		// Replies to interactions take Chat.Reply's fallback chain.
		h.replies = NewChat(cfg.Slack, incident.Policy{}, WithChatClock(cfg.Clock), WithChatLogger(cfg.Logger))
		h.kit.people = h.replies
		// A click from another workspace of the organisation is settled
		// with Slack's directory, however the workspace became known.
		h.homes.people.Store(h.replies.chatDirectory)
	}
	h.mount(table{commands: []command{{name: "help", usage: "help", summary: "Show this help.", run: h.help}}})
	h.mount((&metricsHandlers{kit: h.kit, metrics: cfg.Metrics, webURL: cfg.WebURL}).table())
	if cfg.People != nil {
		h.mount(peopleEvents{people: cfg.People}.table())
	}
	if cfg.Incidents != nil {
		if missing := cfg.missingFeatures(); len(missing) > 0 {
			panic("bot: Config.Incidents is set but not " + strings.Join(missing, ", "))
		}
		for _, f := range features(cfg, h.kit) {
			h.mount(f.table())
		}
	}
	sortCommands(h.commands)
	return h
}

// withDefaults fills in what cfg leaves unset.
func withDefaults(cfg Config) Config {
	if cfg.Command == "" {
		cfg.Command = "/incident"
	}
	if cfg.Clock == nil {
		cfg.Clock = incident.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.AckDeadline <= 0 {
		cfg.AckDeadline = DefaultAckDeadline
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	return cfg
}

// OnEvent routes Events API events of one type (such as "message") to fn.
// Events of types nobody registered are acknowledged and dropped.
func (h *Handler) OnEvent(eventType string, fn EventHandler) {
	h.events[eventType] = fn
}

// RegisterJobs registers the transport's job handlers.
func (h *Handler) RegisterJobs(r JobRegistrar) {
	r.Handle(JobSlackEvent, h.runEventJob)
}
