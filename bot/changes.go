package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// ViewRollback is the rollback confirmation modal's callback id.
const ViewRollback = "rollback"

// blockRollbackReason is the modal's one input: Slack shows a submit button
// and field errors only on a modal with an input.
const blockRollbackReason = "rollback_reason"

// planTimeout bounds planning a rollback on the click's path: the plan asks
// the provider, and the modal must still open before the trigger_id
// expires three seconds after the click.
const planTimeout = 1500 * time.Millisecond

// maxReason bounds the optional reason, which becomes a timeline note.
const maxReason = 500

// rollbackMeta round-trips through the rollback modal's private_metadata.
type rollbackMeta struct {
	IncidentID int64  `json:"i"`
	Value      string `json:"v"`
}

// changeHandlers answer the changes before an incident and their guarded
// rollbacks: the changes command, the "What changed?" button, and the
// rollback buttons and form.
type changeHandlers struct {
	kit       *kit
	changes   ChangeService
	rollbacks RollbackService
	// notes keeps a rollback's reason on the timeline.
	notes interface {
		AddNote(ctx context.Context, id int64, actor, text string) error
	}
}

func (c *changeHandlers) table() table {
	return table{
		commands: []command{
			{name: "changes", usage: "changes [2h]", summary: "List the deploys and flag changes before the incident started (default 60 min), with rollback buttons.", run: c.changesCommand},
		},
		actions: map[string]action{
			ActionWhatChanged:         {run: c.actionWhatChanged, find: c.kit.byID},
			incident.ActionRollback:   {run: c.actionRollback, find: c.channelIncident},
			incident.ActionApproveRol: {run: c.actionApproveRollback, find: c.rollbackIncident},
			incident.ActionRetryRoll:  {run: c.actionRetryRollback, find: c.rollbackIncident},
		},
		views: map[string]view{ViewRollback: {run: c.submitRollback, sealed: true}},
	}
}

// channelIncident finds the incident of the channel a listed change's
// Roll back button was clicked in.
func (c *changeHandlers) channelIncident(ctx context.Context, cb slack.InteractionCallback, _ string) (*incident.Incident, error) {
	return c.kit.incidents.ByChannel(ctx, cb.Channel.ID)
}

// rollbackIncident finds the incident of the rollback a button names.
func (c *changeHandlers) rollbackIncident(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	return c.rollbacks.RollbackIncident(ctx, v)
}

func (c *changeHandlers) actionWhatChanged(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := c.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	return c.changes.WhatChanged(ctx, inc.ID, 0, cb.User.ID, incident.ReplyTarget{ChannelID: cb.Channel.ID, UserID: cb.User.ID})
}

// actionRollback plans the rollback of a listed change and asks for
// confirmation. Someone who may not roll back is refused here, before any
// form opens.
func (c *changeHandlers) actionRollback(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := c.kit.incidents.ByChannel(ctx, cb.Channel.ID)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, planTimeout)
	defer cancel()
	plan, err := c.rollbacks.PlanRollback(pctx, inc.ID, a.Value, cb.User.ID)
	if err != nil {
		if errors.Is(pctx.Err(), context.DeadlineExceeded) {
			c.kit.log.WarnContext(ctx, "planning a rollback took too long", "incident", inc.Key(), "err", err)
			return incident.Errorf(incident.EUNAVAILABLE, "Working out the rollback took too long; click the button again.")
		}
		return err
	}
	return c.kit.openModal(ctx, cb.TriggerID, cb.User.ID, RollbackModal(inc, plan, a.Value, NoticeText(c.rollbacks.RollbackRule(ctx, inc, plan))))
}

// RollbackModal asks to confirm a rollback. It says exactly what will
// happen: the plan, the repository, environment and commits of a deploy or
// the flag and environment of a flag change, and who may confirm.
func RollbackModal(inc *incident.Incident, plan incident.RollbackPlan, value, rule string) slack.ModalViewRequest {
	field := func(label, v string) *slack.TextBlockObject {
		return mrkdwnText(clipRunes(fmt.Sprintf("*%s*\n%s", label, v), 2000))
	}
	code := func(v string) string {
		if v == "" {
			return "_unknown_"
		}
		return "`" + Escape(v) + "`"
	}
	submit := "Roll back"
	var fields []*slack.TextBlockObject
	if plan.Kind == incident.ChangeFlag {
		submit = "Turn off"
		fields = []*slack.TextBlockObject{
			field("Flag", code(plan.Flag)),
			field("Environment", code(plan.Environment)),
			field("Project", code(plan.Project)),
			field("Provider", sourceName(plan.Source)),
		}
	} else {
		how := "Create a GitHub deployment of the earlier commit"
		if plan.Method == "workflow" {
			how = fmt.Sprintf("Run the %s workflow with the earlier commit", code(plan.Workflow))
		}
		fields = []*slack.TextBlockObject{
			field("Repository", code(plan.Repo)),
			field("Environment", code(plan.Environment)),
			field("From (now deployed)", code(plan.FromRef)),
			field("To (last good deploy)", code(plan.ToRef)),
			field("How", how),
		}
	}
	reason := slack.NewPlainTextInputBlockElement(plain("Why, for the timeline"), blockRollbackReason)
	reason.Multiline, reason.MaxLength = true, maxReason
	in := slack.NewInputBlock(blockRollbackReason, plain("Reason (optional)"), nil, reason)
	in.Optional = true
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwnText(clipRunes(":rewind: *"+Escape(plan.Description)+"*", maxTextObject)), nil, nil),
		slack.NewSectionBlock(nil, fields, nil),
		slack.NewContextBlock("", mrkdwnText(clipRunes(rule, maxTextObject))),
		in,
	}
	meta, _ := json.Marshal(rollbackMeta{IncidentID: inc.ID, Value: value})
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: ViewRollback, Title: plain(clip("Rollback · "+inc.Key(), 24)),
		Submit: plain(submit), Close: plain("Cancel"), Blocks: slack.Blocks{BlockSet: blocks}, PrivateMetadata: string(meta)}
}

// submitRollback requests the confirmed rollback. Every refusal (not
// allowed, already requested, no longer possible) is shown on the form,
// which stays open so the person reads it.
func (c *changeHandlers) submitRollback(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	var meta rollbackMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.IncidentID == 0 || meta.Value == "" {
		return nil, incident.Errorf(incident.EINVALID, "The form does not name a change.")
	}
	fieldError := func(err error) *slack.ViewSubmissionResponse {
		if incident.ErrorCode(err) == incident.EINTERNAL {
			c.kit.log.ErrorContext(ctx, "rollback request failed", "incident_id", meta.IncidentID, "err", err)
		}
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockRollbackReason: clip(userMessage(err), 2000)})
	}
	// The request re-plans with the provider; Slack waits three seconds
	// for this answer, so the provider gets at most two of them.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.rollbacks.RequestRollback(rctx, meta.IncidentID, meta.Value, cb.User.ID); err != nil {
		if errors.Is(rctx.Err(), context.DeadlineExceeded) {
			err = incident.Errorf(incident.EUNAVAILABLE, "The provider was too slow to confirm the plan. Submit again; a rollback that already started is not started twice.")
		}
		return fieldError(err), nil
	}
	if reason := strings.TrimSpace(stateValue(cb, blockRollbackReason).Value); reason != "" {
		if err := c.notes.AddNote(ctx, meta.IncidentID, cb.User.ID, "Rollback reason: "+clip(reason, maxReason)); err != nil {
			// The rollback is under way; a lost reason must not undo that.
			c.kit.log.WarnContext(ctx, "could not record the rollback reason", "incident_id", meta.IncidentID, "err", err)
		}
	}
	return nil, nil
}

func (c *changeHandlers) actionApproveRollback(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	_, err := c.rollbacks.ApproveRollback(ctx, a.Value, cb.User.ID)
	return err
}

func (c *changeHandlers) actionRetryRollback(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	_, err := c.rollbacks.RetryRollback(ctx, a.Value, cb.User.ID)
	return err
}

// changesCommand is "/incident changes [2h]": the changes before the
// incident started, posted in the channel by a job.
func (c *changeHandlers) changesCommand(ctx context.Context, inv Invocation) (Reply, error) {
	window, err := parseWindow(inv.Args)
	if err != nil {
		return Reply{}, err
	}
	inc, err := c.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	reply := incident.ReplyTarget{ResponseURL: inv.Cmd.ResponseURL, ChannelID: inv.Cmd.ChannelID, UserID: inv.Cmd.UserID}
	if err := c.changes.WhatChanged(ctx, inc.ID, window, inv.Cmd.UserID, reply); err != nil {
		return Reply{}, err
	}
	if window == 0 {
		window = c.kit.policy().LookBack()
	}
	return ephemeral(":mag: Looking for changes in the %s before %s started; the list will appear in this channel.",
		humanDuration(window), inc.Key()), nil
}

// parseWindow reads a look-back such as "90m", "2h", "1h30m" or "1d"; empty
// is zero, the policy's default. The domain checks the bounds.
func parseWindow(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	bad := incident.Errorf(incident.EINVALID, "%q is not a time span: say how far back to look, from 1 minute to 48 hours, such as 90m, 2h or 1d.", s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, bad
		}
		if n > int(incident.MaxChangeWindow/(24*time.Hour)) {
			return 0, incident.Errorf(incident.EINVALID, "%s is too far back: look at most 48 hours before the start.", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return 0, bad
		}
	}
	switch {
	case d < incident.MinChangeWindow:
		return 0, incident.Errorf(incident.EINVALID, "%s is too short: look at least 1 minute before the start.", s)
	case d > incident.MaxChangeWindow:
		return 0, incident.Errorf(incident.EINVALID, "%s is too far back: look at most 48 hours before the start.", s)
	}
	return d, nil
}
