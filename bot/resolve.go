package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// Callback ids of the message shortcut and the resolve modal.
const (
	// ShortcutDeclareFromMessage is the callback_id of the "Declare
	// incident" message shortcut in the app manifest.
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

// ResolveModal asks for the data that confirms a resolution.
func ResolveModal(p incident.Policy, inc *incident.Incident) slack.ModalViewRequest {
	required := p.ResolutionRequired(inc.MostSevere())
	checks := slack.NewCheckboxGroupsBlockElement(blockChecks,
		slack.NewOptionBlockObject(checkMonitors, plain("Monitors are green"), nil),
		slack.NewOptionBlockObject(checkBaseline, plain("Error rate and latency are back at baseline"), nil),
		slack.NewOptionBlockObject(checkSmoke, plain("A smoke test passed, run by someone not in the fix"), nil))
	tester := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Who ran the smoke test"), blockSmokeTester)
	summary := slack.NewPlainTextInputBlockElement(plain("What fixed it"), blockSummary)
	summary.Multiline, summary.MaxLength = true, maxSummaryInput
	notes := slack.NewPlainTextInputBlockElement(plain("Dashboards, numbers, links"), blockNotes)
	notes.Multiline, notes.MaxLength = true, maxNotesInput

	intro := "Resolution is confirmed with data. Tick what you have checked; the answers go in the postmortem."
	if required {
		intro = fmt.Sprintf("The policy asks %s incidents to confirm the resolution with data: all three checks, and who ran the smoke test.", inc.MostSevere())
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
// back on the field at fault: who ran the smoke test when that is what is
// missing or wrong, else the checklist.
func (l *lifecycleHandlers) submitResolve(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	id, err := metaIncident(cb)
	if err != nil {
		return nil, err
	}
	if errs := overLength(cb, map[string]int{blockSummary: maxSummaryInput, blockNotes: maxNotesInput}); len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
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
	if _, err := l.kit.incidents.Resolve(ctx, id, cb.User.ID, summary, check); err != nil {
		switch incident.ErrorCode(err) {
		case incident.EINVALID:
			block := blockChecks
			if check.SmokeTested && (check.SmokeTester == "" || check.SmokeTester == cb.User.ID) {
				block = blockSmokeTester
			}
			return slack.NewErrorsViewSubmissionResponse(map[string]string{block: userMessage(err)}), nil
		}
		// A refusal or a conflict is said on the form's first field, the
		// form open, as for every form (tellUser).
		return nil, err
	}
	return nil, nil
}
