package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// Actions of the nag message; ActionPostUpdate opens the update modal.
const (
	ActionStillInvestigating = "nag_still_investigating"
	ActionSnooze             = "nag_snooze"
	// ViewUpdate is the update modal's callback id.
	ViewUpdate = "update"
)

const (
	blockUpdateStatus = "update_status"
	blockUpdateKnown  = "update_known"
	blockUpdateDoing  = "update_doing"
	blockUpdateNext   = "update_next"
)

// updateHandlers answer status updates: the update command and form, and
// the nag's buttons.
type updateHandlers struct {
	kit     *kit
	updates UpdateService
}

func (u *updateHandlers) table() table {
	return table{
		commands: []command{
			{name: "update", usage: "update <what we know, what we are doing>", summary: "Post a status update; without text, a form asks for it.", run: u.updateCommand},
		},
		actions: map[string]action{
			ActionPostUpdate:         {run: u.actionPostUpdate, find: u.kit.byID},
			ActionStillInvestigating: {run: u.actionStillInvestigating, find: u.kit.byID},
			ActionSnooze:             {run: u.actionSnooze, find: u.kit.byID},
		},
		views: map[string]view{ViewUpdate: {run: u.submitUpdate, sealed: true}},
	}
}

// NagBlocks renders a nag: its text and the three ways to answer it; the
// snooze button says how long it silences (snooze, such as "30 minutes").
func NagBlocks(inc *incident.Incident, text, snooze string) []slack.Block {
	value := strconv.FormatInt(inc.ID, 10)
	btn := func(id, label string) *slack.ButtonBlockElement {
		return slack.NewButtonBlockElement(id, value, plain(label))
	}
	post := btn(ActionPostUpdate, "Post update")
	post.Style = slack.StylePrimary
	label := "Snooze (IC)"
	if snooze != "" {
		label = "Snooze " + snooze + " (IC)"
	}
	return append(textSections(text, maxMessageBlocks-1, maxBlocksText),
		slack.NewActionBlock("nag_actions", post, btn(ActionStillInvestigating, "Still investigating"), btn(ActionSnooze, label)))
}

// PostNag posts an update nag with its buttons.
func (c *chatMessages) PostNag(ctx context.Context, channelID string, inc *incident.Incident, n incident.Notice) (string, error) {
	if inc != nil && inc.Drill {
		n.Drill = true
	}
	text := c.noticeText(n)
	_, ts, _, err := c.postOnce(ctx, channelID, postKey(ctx, "nag", channelID+"\n"+text), time.Time{},
		slack.MsgOptionText(clipMessage(text, maxMessageText), false), slack.MsgOptionBlocks(NagBlocks(inc, text, n.Values["snooze"])...))
	if err != nil {
		return "", classifyIn(ctx, "chat.postMessage", "post the update reminder", err)
	}
	return ts, nil
}

// updateMeta is the update form's private_metadata (sealed): the incident,
// and its status when the form opened, so that the status the form shows
// is applied only when the person changed it (updateStatus).
type updateMeta struct {
	modalMeta
	Status incident.Status `json:"st,omitempty"`
}

// UpdateModal asks for a status update in the fixed format. The status
// select shows the incident's status as the form opens, which Slack
// submits again if the person does not touch it; that status is kept in
// the form's private_metadata, so that a form left open does not put back
// a status someone changed since.
func UpdateModal(p incident.Policy, inc *incident.Incident) slack.ModalViewRequest {
	status := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Status"), blockUpdateStatus,
		slack.NewOptionBlockObject(string(incident.StatusInvestigating), plain("Investigating"), nil),
		slack.NewOptionBlockObject(string(incident.StatusMitigated), plain("Mitigated"), nil))
	if updateFormShows(inc.Status) == incident.StatusMitigated {
		status.InitialOption = status.Options[1]
	} else {
		status.InitialOption = status.Options[0]
	}
	known := slack.NewPlainTextInputBlockElement(plain("Symptoms, impact, what we ruled out"), blockUpdateKnown)
	known.Multiline, known.MaxLength = true, maxUpdateInput
	doing := slack.NewPlainTextInputBlockElement(plain("Next steps, who is on them"), blockUpdateDoing)
	doing.Multiline, doing.MaxLength = true, maxUpdateInput
	var nextOpts []*slack.OptionBlockObject
	for _, m := range []int{10, 15, 30, 60} {
		nextOpts = append(nextOpts, slack.NewOptionBlockObject(strconv.Itoa(m), plain(fmt.Sprintf("%d minutes", m)), nil))
	}
	next := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Next update in"), blockUpdateNext, nextOpts...)
	every := p.Severity(inc.Severity).UpdateEvery
	for _, o := range nextOpts {
		if o.Value == strconv.Itoa(int(every.Minutes())) {
			next.InitialOption = o
		}
	}
	knownBlock := slack.NewInputBlock(blockUpdateKnown, plain("What we know"), nil, known)
	doingBlock := slack.NewInputBlock(blockUpdateDoing, plain("What we are doing"), nil, doing)
	doingBlock.Optional = true
	nextBlock := slack.NewInputBlock(blockUpdateNext, plain("Next update"), nil, next)
	nextBlock.Optional = true
	meta, _ := json.Marshal(updateMeta{modalMeta: modalMeta{IncidentID: inc.ID}, Status: inc.Status})
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: ViewUpdate, Title: plain(clip("Update · "+inc.Key(), 24)),
		Submit: plain("Post"), Close: plain("Cancel"), PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock(blockUpdateStatus, plain("Status"), nil, status), knownBlock, doingBlock, nextBlock}}}
}

func (u *updateHandlers) actionPostUpdate(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := u.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	if err := u.kit.mayOpen(ctx, cb.User.ID, inc, incident.ActPostUpdate); err != nil {
		return err
	}
	return u.kit.openModal(ctx, cb.TriggerID, cb.User.ID, UpdateModal(u.kit.policy(), inc))
}

// updateFormShows is the status the update form's select shows for an
// incident whose status is s: it offers investigating and mitigated.
func updateFormShows(s incident.Status) incident.Status {
	if s == incident.StatusMitigated {
		return incident.StatusMitigated
	}
	return incident.StatusInvestigating
}

// updateStatus is the status an update form's submission moves the
// incident to, "" for none, given the status the incident had when the
// form opened (opened) and the one selected. The selection is applied
// when the status has not changed since the form opened. When it has, a
// selection the person left as the form showed it changes nothing (the
// later change stands), and one they changed to something else than the
// status now is a conflict, answered on the status field (conflict). A
// form that does not say the status it opened with cannot tell the two
// apart: one that would move the status is answered on the field too.
func (u *updateHandlers) updateStatus(ctx context.Context, id int64, opened, selected incident.Status) (status incident.Status, conflict string, err error) {
	if selected == "" {
		return "", "", nil
	}
	inc, err := u.kit.incidents.Get(ctx, id)
	if err != nil {
		return "", "", err
	}
	now := inc.Status
	if selected == now {
		return "", "", nil
	}
	if opened == "" {
		return "", "This form is out of date (opened by an earlier version of the bot, it does not say the status it showed): close it and open it again to change the status.", nil
	}
	// A declared incident is shown as investigating, and becomes so when
	// its channel is ready: not a change a choice here could undo.
	if now.Settled() == opened.Settled() {
		return selected, "", nil
	}
	shown := updateFormShows(opened)
	switch {
	case selected == shown:
		return "", "", nil
	case !now.Open():
		return "", fmt.Sprintf("The status changed to %s since you opened this form, and updates are for open incidents: reopen %s first.", now.Label(), inc.Key()), nil
	}
	return "", fmt.Sprintf("The status changed to %s since you opened this form, so %s was not set. Put it back to %s to post the update with the status as it is now, or close this form and open it again.",
		now.Label(), selected.Label(), shown.Label()), nil
}

func (u *updateHandlers) submitUpdate(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	var meta updateMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.IncidentID == 0 {
		return nil, incident.Errorf(incident.EINVALID, "The form does not name an incident.")
	}
	id := meta.IncidentID
	if errs := overLength(cb, map[string]int{blockUpdateKnown: maxUpdateInput, blockUpdateDoing: maxUpdateInput}); len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}
	// A plain-text box holds what the person typed. It is stored as Slack
	// stores typed text (ADR 0056): & < > as &amp; &lt; &gt;, so a typed
	// "<@U123>" or "<!here>" reads as written everywhere and is never a
	// mention or a ping.
	known := incident.EscapeText(strings.TrimSpace(stateValue(cb, blockUpdateKnown).Value))
	doing := incident.EscapeText(strings.TrimSpace(stateValue(cb, blockUpdateDoing).Value))
	if errs := overUpdateWords(known, doing); errs != nil {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}
	status, conflict, err := u.updateStatus(ctx, id, meta.Status, incident.Status(stateValue(cb, blockUpdateStatus).SelectedOption.Value))
	if err != nil {
		return nil, err
	}
	if conflict != "" {
		// Said on the form, which stays open with the words typed.
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockUpdateStatus: conflict}), nil
	}
	in := incident.UpdateInput{Author: cb.User.ID, Status: status, Known: known, Doing: doing}
	if status != "" {
		// Compared again in the update's own transaction: the status may
		// move between the read above and it.
		in.StatusWas = meta.Status
	}
	if cb.View.ID != "" {
		// The form is one update: submitted again (its first answer
		// reached Slack late, or not at all, and the person pressed
		// Post once more), it posts nothing twice.
		in.Key = "view:" + cb.View.ID
	}
	if m, err := strconv.Atoi(stateValue(cb, blockUpdateNext).SelectedOption.Value); err == nil {
		in.NextIn = time.Duration(m) * time.Minute
	}
	if _, err := u.updates.PostUpdate(ctx, id, in); err != nil {
		if errors.Is(err, incident.ErrUpdateRepeated) {
			// Posted by the first submission: the form closes.
			return nil, nil
		}
		if r := (*incident.Refusal)(nil); errors.Is(err, incident.ErrStatusMoved) || errors.As(err, &r) && r.Action == incident.ActSetStatus {
			// Moving the status is the IC's or the commander group's
			// (PostUpdate decides): said under the status.
			return slack.NewErrorsViewSubmissionResponse(map[string]string{blockUpdateStatus: userMessage(err)}), nil
		}
		switch incident.ErrorCode(err) {
		case incident.EINVALID, incident.ECONFLICT, incident.EFORBIDDEN:
			// Said on the form, which stays open with the words typed.
			return slack.NewErrorsViewSubmissionResponse(map[string]string{blockUpdateKnown: userMessage(err)}), nil
		}
		return nil, err
	}
	return nil, nil
}

// overUpdateWords answers, on the longer of the two boxes, words that fit
// the form's boxes as typed but not the domain's limit as stored: each of
// & < > is stored as &amp; &lt; &gt;, as Slack stores typed text, and two
// full boxes with one of them are past it. The sentence says so, as the
// limit would otherwise look wrong to the person counting what they
// typed. Nil when the words fit.
func overUpdateWords(known, doing string) map[string]string {
	nk, nd := utf8.RuneCountInString(known), utf8.RuneCountInString(doing)
	if nk+nd <= incident.MaxUpdateChars {
		return nil
	}
	block := blockUpdateKnown
	if nd > nk {
		block = blockUpdateDoing
	}
	return map[string]string{block: fmt.Sprintf("The update is %d characters long as stored: Slack stores each & as 5 characters and each < or > as 4. Keep both boxes together within %d.", nk+nd, incident.MaxUpdateChars)}
}

func (u *updateHandlers) actionStillInvestigating(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := u.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	after, err := u.updates.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: cb.User.ID, Known: incident.StillInvestigating})
	if err != nil {
		return err
	}
	if !incident.UpdateReset(inc, after) {
		text := updateKept(inc)
		u.kit.replyToClick(ctx, cb, text, []slack.Block{slack.NewSectionBlock(mrkdwnText(text), nil, nil)})
	}
	return nil
}

// updateKept answers someone whose update was posted but, as they are
// neither the IC nor a role holder nor in the commander group, left the
// reminders escalating.
func updateKept(inc *incident.Incident) string {
	return "Update posted for " + inc.Key() + ". The reminders to the Incident Commander keep escalating: only an update by the IC, a role holder or the commander group starts them over."
}

func (u *updateHandlers) actionSnooze(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := u.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	_, err = u.updates.Snooze(ctx, inc.ID, cb.User.ID)
	return err
}

// updateCommand is "/incident update <what we know>".
func (u *updateHandlers) updateCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := u.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if inv.Args == "" {
		if inv.Cmd.TriggerID != "" {
			if err := u.kit.mayOpen(ctx, inv.Cmd.UserID, inc, incident.ActPostUpdate); err != nil {
				return Reply{}, err
			}
			return Reply{}, u.kit.openModal(ctx, inv.Cmd.TriggerID, inv.Cmd.UserID, UpdateModal(u.kit.policy(), inc))
		}
		return Reply{}, incident.Errorf(incident.EINVALID, "Say what we know, such as `update error rate back to normal, watching`.")
	}
	// The words are stored as Slack sent them (ADR 0056): a person
	// mentioned stays a mention, a typed "<" stays "&lt;".
	after, err := u.updates.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: inv.Cmd.UserID, Known: inv.Markup})
	if err != nil {
		return Reply{}, err
	}
	if !incident.UpdateReset(inc, after) {
		return ephemeral("%s", updateKept(inc)), nil
	}
	return ephemeral("Update posted for %s; the reminder clock starts again.", inc.Key()), nil
}
