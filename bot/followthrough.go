package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// Callback ids of the message shortcut and the resolve modal.
const (
	// ShortcutDeclareFromMessage is the callback_id of the "Declare
	// incident from this message" message shortcut in the app manifest.
	ShortcutDeclareFromMessage = "declare_from_message"
	ViewResolve                = "resolve"
)

// Block ids of the resolve modal.
const (
	blockChecks      = "checks"
	blockSmokeTester = "smoke_tester"
	blockSummary     = "summary"
	blockNotes       = "notes"
)

// Values of the resolve checklist's checkboxes.
const (
	checkMonitors = "monitors_green"
	checkBaseline = "error_rate_baseline"
	checkSmoke    = "smoke_tested"
)

func (h *Handler) registerFollowThroughHandlers() {
	h.OnAction(incident.ActionAlertDeclare, h.actionAlertDeclare)
	h.OnAction(incident.ActionAlertDismiss, h.actionAlertDismiss)
	h.OnShortcut(ShortcutDeclareFromMessage, h.shortcutDeclareFromMessage)
	h.OnView(ViewResolve, h.submitResolve)
}

// ShortcutHandler answers a message shortcut (message_action) for one
// callback_id. It runs on the 3-second path: the trigger_id expires then.
type ShortcutHandler func(ctx context.Context, cb slack.InteractionCallback) error

// OnShortcut routes message_action payloads with the callback_id to fn.
func (h *Handler) OnShortcut(callbackID string, fn ShortcutHandler) { h.shortcuts[callbackID] = fn }

// replaceClicked rewrites the message whose button was clicked, through
// the interaction's response_url, so nobody clicks it again.
func (h *Handler) replaceClicked(ctx context.Context, cb slack.InteractionCallback, text string) {
	if cb.ResponseURL == "" || h.cfg.Slack == nil {
		return
	}
	if _, _, err := h.cfg.Slack.PostMessageContext(ctx, "", slack.MsgOptionText(text, false),
		slack.MsgOptionReplaceOriginal(cb.ResponseURL)); err != nil {
		h.log.WarnContext(ctx, "could not update the clicked message", "err", err)
	}
}

func alertID(a *slack.BlockAction) (int64, error) {
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil || id <= 0 {
		return 0, incident.Errorf(incident.EINVALID, "The button does not name an alert.")
	}
	return id, nil
}

// actionAlertDeclare is the Declare button of an alert proposal.
func (h *Handler) actionAlertDeclare(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, err := alertID(a)
	if err != nil {
		return err
	}
	inc, err := h.cfg.Alerts.DeclareFromAlert(ctx, id, cb.User.ID, incident.ReplyTarget{UserID: cb.User.ID})
	if err != nil {
		return err
	}
	al, err := h.cfg.Alerts.GetAlert(ctx, id)
	if err != nil {
		return err
	}
	h.replaceClicked(ctx, cb, fmt.Sprintf(":rotating_light: <@%s> declared *%s* (%s) from the alert %s (%s). Opening its channel…",
		cb.User.ID, inc.Key(), inc.Severity, Escape(al.Title), al.Source))
	return nil
}

// actionAlertDismiss is the Not an incident button.
func (h *Handler) actionAlertDismiss(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, err := alertID(a)
	if err != nil {
		return err
	}
	al, err := h.cfg.Alerts.DismissAlert(ctx, id, cb.User.ID)
	if err != nil {
		return err
	}
	h.replaceClicked(ctx, cb, fmt.Sprintf(":white_circle: <@%s> judged the alert %s (%s) not an incident.", cb.User.ID, Escape(al.Title), al.Source))
	return nil
}

// permalink builds a message's link from the workspace domain, without a
// Slack call on the 3-second path.
func permalink(domain, channelID, ts string) string {
	if domain == "" || channelID == "" || ts == "" {
		return ""
	}
	return fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", domain, channelID, strings.ReplaceAll(ts, ".", ""))
}

// shortcutDeclareFromMessage opens the declare modal with the message as
// the description; the declared incident's timeline links the message.
func (h *Handler) shortcutDeclareFromMessage(ctx context.Context, cb slack.InteractionCallback) error {
	text := strings.TrimSpace(cb.Message.Text)
	firstLine, _, _ := strings.Cut(text, "\n")
	d := declareArgs{title: clip(strings.Join(strings.Fields(firstLine), " "), 80), description: clip(text, 3000)}
	ts := cb.Message.Timestamp
	if ts == "" {
		ts = cb.MessageTs
	}
	src := &incident.SourceMessage{ChannelID: cb.Channel.ID, TS: ts, Author: cb.Message.User,
		Permalink: permalink(cb.Team.Domain, cb.Channel.ID, ts)}
	if cb.TriggerID == "" {
		return incident.Errorf(incident.EINVALID, "Slack sent no trigger to open the declare form.")
	}
	ctx, cancel := context.WithTimeout(ctx, viewsTimeout)
	defer cancel()
	view := DeclareModal(h.cfg.Incidents.Policy(), cb.User.ID, cb.Channel.ID, d)
	meta, _ := json.Marshal(modalMeta{ChannelID: cb.Channel.ID, Source: src})
	view.PrivateMetadata = string(meta)
	if _, err := h.cfg.Slack.OpenViewContext(ctx, cb.TriggerID, h.seal(view, cb.User.ID)); err != nil {
		h.log.WarnContext(ctx, "could not open the declare modal from a message", "err", err)
		return incident.Errorf(incident.EUNAVAILABLE, "Slack did not open the declare form. Declare with `%s declare P1 <title>` instead.", h.cfg.Command)
	}
	return nil
}

// ResolveModal asks for the data that confirms a resolution.
func ResolveModal(p incident.Policy, inc *incident.Incident) slack.ModalViewRequest {
	required := p.ResolutionRequired(inc.Severity)
	checks := slack.NewCheckboxGroupsBlockElement(blockChecks,
		slack.NewOptionBlockObject(checkMonitors, plain("Monitors are green"), nil),
		slack.NewOptionBlockObject(checkBaseline, plain("Error rate and latency are back at baseline"), nil),
		slack.NewOptionBlockObject(checkSmoke, plain("A smoke test passed, run by someone not in the fix"), nil))
	tester := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Who ran the smoke test"), blockSmokeTester)
	summary := slack.NewPlainTextInputBlockElement(plain("What fixed it"), blockSummary)
	summary.Multiline, summary.MaxLength = true, 3000
	notes := slack.NewPlainTextInputBlockElement(plain("Dashboards, numbers, links"), blockNotes)
	notes.Multiline, notes.MaxLength = true, 2000

	intro := "Resolution is confirmed with data. Tick what you have checked; the answers go in the postmortem."
	if required {
		intro = fmt.Sprintf("The policy asks %s incidents to confirm the resolution with data: all three checks, and who ran the smoke test.", inc.Severity)
	}
	checksIn := slack.NewInputBlock(blockChecks, plain("Confirmed with data"), nil, checks)
	testerIn := slack.NewInputBlock(blockSmokeTester, plain("Smoke test by"), nil, tester)
	checksIn.Optional, testerIn.Optional = !required, !required
	summaryIn := slack.NewInputBlock(blockSummary, plain("Resolution summary"), nil, summary)
	notesIn := slack.NewInputBlock(blockNotes, plain("Evidence"), nil, notes)
	summaryIn.Optional, notesIn.Optional = true, true
	meta, _ := json.Marshal(modalMeta{IncidentID: inc.ID})
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: ViewResolve, Title: plain(clip("Resolve "+inc.Key(), 24)),
		Submit: plain("Resolve"), Close: plain("Cancel"), PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwnText(intro), nil, nil), checksIn, testerIn, summaryIn, notesIn}}}
}

// submitResolve resolves with the checklist; a refusal by the policy goes
// back on the checklist field.
func (h *Handler) submitResolve(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	id, err := metaIncident(cb)
	if err != nil {
		return nil, err
	}
	var check incident.ResolutionCheck
	for _, o := range stateValue(cb, blockChecks).SelectedOptions {
		switch o.Value {
		case checkMonitors:
			check.MonitorsGreen = true
		case checkBaseline:
			check.ErrorRateBaseline = true
		case checkSmoke:
			check.SmokeTested = true
		}
	}
	check.SmokeTester = stateValue(cb, blockSmokeTester).SelectedUser
	check.Notes = stateValue(cb, blockNotes).Value
	summary := stateValue(cb, blockSummary).Value
	if _, err := h.cfg.Incidents.Resolve(ctx, id, cb.User.ID, summary, check); err != nil {
		if incident.ErrorCode(err) == incident.EINVALID {
			block := blockChecks
			if strings.Contains(userMessage(err), "smoke test") && check.MonitorsGreen && check.ErrorRateBaseline {
				block = blockSmokeTester
			}
			return slack.NewErrorsViewSubmissionResponse(map[string]string{block: userMessage(err)}), nil
		}
		return nil, err
	}
	return nil, nil
}

const (
	followupsUsage   = "followups [mine|overdue]"
	followupsSummary = "List open follow-ups of every incident, overdue first; `mine` keeps yours, `overdue` the late ones."
	reviewUsage      = "review [draft|in_review|published]"
	reviewSummary    = "Show the postmortem review's due date and state, or move it on (in a closed incident's channel)."
)

// followupsCommand lists open action items across incidents.
func (h *Handler) followupsCommand(ctx context.Context, inv Invocation) (Reply, error) {
	f := incident.FollowUpFilter{Viewer: inv.Cmd.UserID}
	what := "Open follow-ups"
	switch strings.ToLower(strings.TrimSpace(inv.Args)) {
	case "":
	case "mine":
		f.Owner, what = inv.Cmd.UserID, "Your open follow-ups"
	case "overdue":
		f.OverdueOnly, what = true, "Overdue follow-ups"
	default:
		return Reply{}, incident.Errorf(incident.EINVALID, "Say `mine`, `overdue`, or nothing for every open follow-up.")
	}
	items, err := h.cfg.FollowThrough.Followups(ctx, f)
	if err != nil {
		return Reply{}, err
	}
	if len(items) == 0 {
		return ephemeral("%s: none. :tada:", what), nil
	}
	var b strings.Builder
	overdue := 0
	for _, it := range items {
		if it.Overdue {
			overdue++
		}
	}
	fmt.Fprintf(&b, "*%s*: %d, %d overdue.", what, len(items), overdue)
	for i, it := range items {
		if i == 40 {
			fmt.Fprintf(&b, "\n…and %d more.", len(items)-i)
			break
		}
		b.WriteString("\n" + NoticeText(incident.FollowUpItem(it)))
	}
	return ephemeral("%s", clip(b.String(), maxMessageText)), nil
}

// reviewCommand shows or sets the postmortem review's state.
func (h *Handler) reviewCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := h.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	arg := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(inv.Args, " ", "_")))
	if arg == "" {
		r, err := h.cfg.FollowThrough.Review(ctx, inc.ID)
		if err != nil {
			return Reply{}, err
		}
		owner := "nobody"
		if r.Owner != "" {
			owner = "<@" + r.Owner + ">"
		}
		return ephemeral("The postmortem review of %s is *%s*, due %s, owner %s.", inc.Key(), r.State.Label(), r.DueOn.Format("Mon 2 Jan 2006"), owner), nil
	}
	r, err := h.cfg.FollowThrough.SetReviewState(ctx, inc.ID, incident.ReviewState(arg), inv.Cmd.UserID)
	if err != nil {
		return Reply{}, err
	}
	return ephemeral("The review of %s is now *%s*.", inc.Key(), r.State.Label()), nil
}
