package bot

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

func newTableHandler(t *testing.T) *Handler {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, time.March, 14, 14, 5, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	q := incidenttest.NewQueue()
	chat := incidenttest.NewChat()
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Clock: clock})
	return New(withService(Config{Scheduler: q, Clock: clock}, svc, store, chat))
}

// TestDispatchTable: the features' tables together answer every
// subcommand, in help's order, every button the bot posts and every form it
// opens; each button about an incident is checked for where it was clicked
// and each form is sealed.
func TestDispatchTable(t *testing.T) {
	t.Parallel()
	h := newTableHandler(t)

	var names []string
	for _, c := range h.commands {
		names = append(names, c.name)
	}
	require.Equal(t, commandOrder, names)

	// The alert proposal's buttons are posted in the alerts channel, about
	// an alert rather than an incident.
	notAboutAnIncident := []string{incident.ActionAlertDeclare, incident.ActionAlertDismiss}
	for _, id := range []string{ActionClaimIC, ActionConfirmTakeIC, ActionAssignRoles, ActionPostUpdate, ActionChangeSeverity,
		ActionPage, ActionWhatChanged, ActionResolve, ActionStillInvestigating, ActionSnooze,
		incident.ActionAckPage, incident.ActionRepage, incident.ActionRetryPage, incident.ActionRollback, incident.ActionRetryRoll,
		incident.ActionApproveRol, incident.ActionExport, incident.ActionStatusPagePublish, incident.ActionStatusPageEdit,
		incident.ActionStatusPageDecline, incident.ActionStatusPageRetry, incident.ActionEmailSent, incident.ActionEmailNotNeeded,
		incident.ActionAlertDeclare, incident.ActionAlertDismiss} {
		a, ok := h.actions[id]
		require.True(t, ok, "no handler for %s", id)
		require.NotNil(t, a.run, id)
		require.Equal(t, !slices.Contains(notAboutAnIncident, id), a.find != nil, "origin check of %s", id)
	}
	require.Len(t, h.actions, 25)

	for _, id := range []string{ViewDeclare, ViewRoles, ViewSeverity, ViewUpdate, ViewRollback, ViewResolve, ViewStatusPage} {
		v, ok := h.views[id]
		require.True(t, ok, "no handler for form %s", id)
		require.True(t, v.sealed, "form %s is sealed", id)
	}
	require.Len(t, h.views, 7)
	require.Contains(t, h.shortcuts, ShortcutDeclareFromMessage)
	for _, ev := range []string{"message", "pin_added", "reaction_added"} {
		require.Contains(t, h.events, ev)
	}
}

// TestDispatchTableRefusesTwoHandlers: two features answering the same id
// is a wiring mistake, found at start.
func TestDispatchTableRefusesTwoHandlers(t *testing.T) {
	t.Parallel()
	h := newTableHandler(t)
	noop := func(context.Context, Invocation) (Reply, error) { return Reply{}, nil }
	require.PanicsWithValue(t, "bot: subcommand declare registered twice", func() {
		h.mount(table{commands: []command{{name: "declare", run: noop}}})
	})
	require.PanicsWithValue(t, "bot: action "+ActionPage+" registered twice", func() {
		h.mount(table{actions: map[string]action{ActionPage: {}}})
	})
	require.PanicsWithValue(t, "bot: view "+ViewUpdate+" registered twice", func() {
		h.mount(table{views: map[string]view{ViewUpdate: {}}})
	})

	// OnAction and OnView replace a handler and keep its checks.
	h.OnAction(ActionPage, func(context.Context, slack.InteractionCallback, *slack.BlockAction) error { return nil })
	require.NotNil(t, h.actions[ActionPage].find)
	h.OnView(ViewUpdate, func(context.Context, slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
		return nil, nil
	})
	require.True(t, h.views[ViewUpdate].sealed)
}

// TestHelpListsEveryCommand: help names each subcommand with its usage.
func TestHelpListsEveryCommand(t *testing.T) {
	t.Parallel()
	h := newTableHandler(t)
	reply, err := h.help(context.Background(), Invocation{})
	require.NoError(t, err)
	for _, c := range h.commands {
		require.Contains(t, reply.Text, "`/incident "+Escape(c.usage)+"`")
	}
	require.Contains(t, reply.Text, "Give someone a role (comms, ops, scribe).")

	// Rendered once, the answer's JSON is the reply's own.
	again, err := h.help(context.Background(), Invocation{})
	require.NoError(t, err)
	var decoded Reply
	require.NoError(t, json.Unmarshal(again.encode(), &decoded))
	require.Equal(t, reply.Text, decoded.Text)
	require.Equal(t, "ephemeral", decoded.ResponseType)
}
