// Package incident is firebreak's domain: what an incident is and the rules
// that run one, from the declare to the postmortem, in the standard library
// only. Slack, the store, the job engine and every provider sit outside,
// behind the small interfaces declared here, so the rules are tested with
// fakes in milliseconds.
//
// # What the domain holds
//
//   - The incident and its vocabulary: Incident, Severity, Status, Role,
//     TimelineEvent, StatusUpdate, ActionItem (incident.go, severity.go,
//     status.go, update.go), and the Policy that configures them
//     (policy.go). Each event kind's details are a typed payload
//     (eventdata.go: MessageData, RollbackData ...), listed in one table of
//     kinds and stored as one JSON object whose keys and string values are
//     those events have always been stored with. Errors are a kind plus a user-safe message (error.go).
//   - Service, which runs incidents: the entry point for declare, roles,
//     severity, status, updates and snoozes (service.go, operations.go,
//     update.go), delegating to one type per responsibility, each holding
//     only the store roles it uses: lifecycle (lifecycle.go,
//     resolution.go) works out what each change does to the incident, its
//     timeline events and notices, storing nothing; authz (authorize.go)
//     answers who may do what and who sees which incident, on the
//     permission model of permission.go, for the Service and, through
//     Service.Authorize and CanSee, the feature packages, bot and web;
//     warRoom (warroom.go, channel.go) opens the war room as the setup job;
//     channelSync (sync.go) brings Slack in line after each change as the
//     sync job; reminders (nag.go) runs the update nags and the
//     response-time check. Also here: the vocabulary of changes
//     (changes.go), of alerts (alert.go), of web sessions and tokens
//     (access.go), of the status page (statuspage.go) and of drills
//     (drill.go). The vocabulary of captured messages (CapturedMessage,
//     SlackTime) and of follow-through (Review, FollowUpPolicy, Team,
//     business days) stays here (capture.go, followup.go).
//   - The interfaces the outside implements: the store, by role (store.go:
//     IncidentStore, TimelineStore, UpdateStore, ActionItemStore,
//     DeliveryStore, ReplayStore, ExportStore, PageReader, AlertStore, Pinger and
//     Transactor, each method one transaction; Atomic for rows and jobs
//     together), with Store their composition for wiring only, and Tx, the
//     incident and timeline roles and a Scheduler on one transaction;
//     the chat's roles (chat.go: ChannelSetup, Directory, PanelPoster,
//     NoticePoster, ChatHistory, ChangePoster, gathered in the Chat struct
//     that MarkDrills wraps; the Slack side), Pager, ChangeSource and Rollbacker
//     (providers.go), Scheduler and the job contract (jobs.go), Clock.
//   - The table of provider names (provider.go), the typed notices the
//     domain returns for the transport to word (notice.go, format.go), and
//     the Observer that counts what happened for metrics (observer.go).
//
// # How it is split
//
// Sub-packages take what has its own store and its own jobs: capture (the
// channel's messages, pins, notes and follow-ups on the timeline, and the
// backfill, behind a six-method store interface), alerts (monitoring
// alerts proposed, declared or added to the timeline, with the proposal
// job), changes ("what changed?" from the change sources and webhooks, and
// guarded rollbacks through the Rollbackers, with their jobs and an
// eleven-method store interface; who may roll back stays the permission
// model here), comms (the status page and customer e-mail clock, the status
// page publisher and the comms drafts, with their jobs), followthrough (the
// postmortem review scheduled at the close, action-item reminders, overdue
// escalations, the weekly digest, scheduled drills, with the notice job),
// paging (pages per severity,
// acknowledgements and escalations from PagerDuty, the bot's own re-page,
// inviting the people paged, drills' test pages, who is on call; behind an
// eight-method store interface, joining the declare with a Planner and
// raises and resolves with a Hook), postmortem (drafting and
// exporting postmortems), metrics (the response-time maths),
// jobs (the durable job engine on River), gormstore (the gorm Store for
// SQLite and PostgreSQL, one part per feature on one handle), pgtest and
// incidenttest (the test kit: in-memory store, split the same way, job
// queue, golden files, the store conformance suite). Imports
// point inward: this package imports no sibling and no vendor SDK, which
// arch_test.go keeps true. A feature package reaches the core through the
// exported Service methods it needs (Notify and Say post in the channel,
// Declare and Authorize as for anyone else, ChangeIn changes an incident on
// the feature's own transaction), and adds itself to the core's
// lifecycle with Service.Use (hook.go): a Planner that stores its jobs in the
// declare's own transaction, and a Hook after each committed change.
//
// docs/architecture.md draws the packages and follows one declare from the
// HTTP route to the pinned control panel.
package incident
