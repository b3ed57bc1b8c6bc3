package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// The transport is split by feature as the domain is. The router (Handler)
// verifies, admits and acknowledges what Slack sends and dispatches it on a
// table; each feature's handlers (lifecycleHandlers, updateHandlers,
// pagingHandlers ...) hold the feature service they call and declare,
// in their table, the subcommands, buttons, forms, shortcuts and events
// they answer.

// command is one "/incident <name>" subcommand.
type command struct {
	name    string
	usage   string
	summary string
	run     func(ctx context.Context, inv Invocation) (Reply, error)
}

// action is one button: its handler and, for a button about an incident,
// how its value names the incident, which is checked against where it was
// clicked before the handler runs.
type action struct {
	run  ActionHandler
	find actionIncident
}

// view is one form: its handler, and whether its private_metadata is
// sealed to the form and the person it was opened for.
type view struct {
	run    ViewHandler
	sealed bool
}

// table is what one feature answers, keyed as the router dispatches:
// subcommands by name, buttons by action_id, forms and message shortcuts by
// callback_id, Events API events by type.
type table struct {
	commands  []command
	actions   map[string]action
	views     map[string]view
	shortcuts map[string]ShortcutHandler
	events    map[string]EventHandler
}

// feature is one feature's handlers.
type feature interface {
	table() table
}

// features returns the handlers of every feature, over the services of cfg.
func features(cfg Config, k *kit) []feature {
	return []feature{
		&lifecycleHandlers{kit: k},
		&updateHandlers{kit: k, updates: cfg.Updates},
		&pagingHandlers{kit: k, paging: cfg.Paging},
		&changeHandlers{kit: k, changes: cfg.Changes, rollbacks: cfg.Rollbacks, notes: cfg.Capture},
		&commsHandlers{kit: k, statusPage: cfg.StatusPage, comms: cfg.Comms},
		&captureHandlers{kit: k, capture: cfg.Capture},
		&followThroughHandlers{kit: k, followThrough: cfg.FollowThrough},
		&alertHandlers{kit: k, alerts: cfg.Alerts},
		&postmortemHandlers{kit: k, postmortems: cfg.Postmortems},
	}
}

// commandOrder is the order help lists the subcommands in; any other comes
// after them.
var commandOrder = []string{"declare", "list", "status", "ic", "role", "update", "page", "oncall", "changes",
	"note", "followup", "followups", "review", "postmortem", "metrics", "comms", "statuspage", "data-concern",
	"severity", "resolve", "reopen", "close", "help"}

// sortCommands puts the commands in help's order.
func sortCommands(cmds []command) {
	rank := func(name string) int {
		if i := slices.Index(commandOrder, name); i >= 0 {
			return i
		}
		return len(commandOrder)
	}
	slices.SortStableFunc(cmds, func(a, b command) int { return rank(a.name) - rank(b.name) })
}

// mount adds a feature's table to the router's. An id answered twice is a
// wiring mistake.
func (h *Handler) mount(t table) {
	for _, c := range t.commands {
		if slices.ContainsFunc(h.commands, func(o command) bool { return o.name == c.name }) {
			panic("bot: subcommand " + c.name + " registered twice")
		}
		h.commands = append(h.commands, c)
	}
	mountMap(h.actions, t.actions, "action")
	mountMap(h.views, t.views, "view")
	mountMap(h.shortcuts, t.shortcuts, "shortcut")
	mountMap(h.events, t.events, "event")
}

func mountMap[V any](into, from map[string]V, what string) {
	for id, v := range from {
		if _, dup := into[id]; dup {
			panic(fmt.Sprintf("bot: %s %s registered twice", what, id))
		}
		into[id] = v
	}
}

// kit is what the feature handlers share: finding the incident a command or
// a button is about, checking where a button was clicked, opening sealed
// forms and answering a click.
type kit struct {
	incidents IncidentService
	slack     *slack.Client
	seals     sealer
	log       *slog.Logger
	clock     incident.Clock
	// command is the slash command, named in replies.
	command string
	// people confirms a user id named in a command (person); nil when
	// there is no Slack client.
	people *Chat
}

// policy is the incident policy.
func (k *kit) policy() incident.Policy { return k.incidents.Policy() }

// incidentHere returns the incident of the channel the command was run in,
// if the person may see it.
func (k *kit) incidentHere(ctx context.Context, inv Invocation) (*incident.Incident, error) {
	inc, err := k.incidents.ByChannel(ctx, inv.Cmd.ChannelID)
	if err != nil {
		return nil, err
	}
	if err := k.canSee(ctx, inv.Cmd.UserID, inc); err != nil {
		return nil, err
	}
	return inc, nil
}

// canSee refuses a private incident to someone who is not one of its
// members, without naming it.
func (k *kit) canSee(ctx context.Context, user string, inc *incident.Incident) error {
	d, err := k.incidents.Authorize(ctx, incident.Request{Subject: incident.Subject{User: user}, Action: incident.ActView, Incident: inc})
	if err != nil {
		return err
	}
	return d.Err()
}

// incidentFromValue reads the incident id a button carries.
func (k *kit) incidentFromValue(ctx context.Context, v string) (*incident.Incident, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, incident.Errorf(incident.EINVALID, "The button does not name an incident.")
	}
	return k.incidents.Get(ctx, id)
}

// byID finds the incident of a button whose value is the incident id.
func (k *kit) byID(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	return k.incidentFromValue(ctx, v)
}

// mayOpen refuses, before a form about inc opens for user, what its
// submission would refuse: any form of a closed incident (its old messages
// keep their buttons), and a form for act to someone the permission model
// does not let do it, saying who can. Nobody fills in a form to be told no.
func (k *kit) mayOpen(ctx context.Context, user string, inc *incident.Incident, act incident.Action) error {
	if inc.Status == incident.StatusClosed {
		return incident.Errorf(incident.ECONFLICT, "%s is closed; a closed incident cannot change.", inc.Key())
	}
	d, err := k.incidents.Authorize(ctx, incident.Request{Subject: incident.Subject{User: user}, Action: act, Incident: inc})
	if err != nil {
		return err
	}
	return d.Err()
}

// openModal opens a modal about one incident from a button or a command.
// Its private_metadata is sealed to the form and to user.
func (k *kit) openModal(ctx context.Context, triggerID, user string, v slack.ModalViewRequest) error {
	ctx, cancel := context.WithTimeout(ctx, viewsTimeout)
	defer cancel()
	if _, err := k.slack.OpenViewContext(ctx, triggerID, k.seals.seal(v, user)); err != nil {
		k.log.WarnContext(ctx, "could not open a modal", "callback_id", v.CallbackID, "err", err)
		return formNotOpened(err, "the form", fmt.Sprintf("try the slash command instead (`%s help`)", k.command))
	}
	return nil
}

// formNotOpened words a views.open that failed: form is the form ("the
// declare form"), instead what to do without it. When Slack refused the
// call (an error code, a 4xx, a rate limit) or it never left, the form
// certainly did not open; after a 5xx or a timeout Slack may have opened
// it before failing, and the person, who may be looking at it, is told so,
// rather than to go and do by hand what the open form would do again.
func formNotOpened(err error, form, instead string) error {
	if undelivered(err) {
		return incident.Errorf(incident.EUNAVAILABLE, "Slack did not open %s. %s.", form, strings.ToUpper(instead[:1])+instead[1:])
	}
	return incident.Errorf(incident.EUNAVAILABLE, "Slack may not have opened %s; if it did not appear, %s.", form, instead)
}

// replyToClick answers the person who clicked, only to them: through the
// interaction's response_url, and as an ephemeral message only when that
// certainly did not deliver it (undelivered), never after a failure that
// leaves it open, which would show the answer twice.
func (k *kit) replyToClick(ctx context.Context, cb slack.InteractionCallback, text string, blocks []slack.Block) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	if cb.ResponseURL != "" {
		_, _, err := k.slack.PostMessageContext(ctx, "", append(opts, slack.MsgOptionResponseURL(cb.ResponseURL, slack.ResponseTypeEphemeral))...)
		if err == nil {
			return
		}
		if !undelivered(err) {
			k.log.WarnContext(ctx, "an answer to a click may not have been shown; not sent again", "user", cb.User.ID, "err", redactURL(err))
			return
		}
	}
	if _, err := k.slack.PostEphemeralContext(ctx, cb.Channel.ID, cb.User.ID, opts...); err != nil {
		k.log.WarnContext(ctx, "could not answer a click", "user", cb.User.ID, "err", err)
	}
}

// replaceClicked rewrites the message whose button was clicked, through
// the interaction's response_url, so nobody clicks it again.
func (k *kit) replaceClicked(ctx context.Context, cb slack.InteractionCallback, text string) {
	if cb.ResponseURL == "" || k.slack == nil {
		return
	}
	if _, _, err := k.slack.PostMessageContext(ctx, "", slack.MsgOptionText(text, false),
		slack.MsgOptionReplaceOriginal(cb.ResponseURL)); err != nil {
		k.log.WarnContext(ctx, "could not update the clicked message", "err", err)
	}
}
