package incident

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// EventResolutionCheck records the data that confirmed a resolution.
const EventResolutionCheck EventKind = "resolution_check"

// ResolutionCheck is the confirmation the practice asks for before an
// incident is resolved: monitors green, error rate and latency back at
// baseline, and a smoke test by someone not involved in the fix.
type ResolutionCheck struct {
	MonitorsGreen     bool
	ErrorRateBaseline bool
	SmokeTested       bool
	// SmokeTester is the Slack user who ran the smoke test.
	SmokeTester string
	Notes       string
}

// Complete reports whether every item is confirmed.
func (c ResolutionCheck) Complete() bool {
	return c.MonitorsGreen && c.ErrorRateBaseline && c.SmokeTested && c.SmokeTester != ""
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ResolutionRequired reports whether resolving an incident of sev needs
// the complete checklist.
func (p Policy) ResolutionRequired(sev Severity) bool { return p.ConfirmResolution[sev] }

// resolveUnchecked is the answer to resolving inc without the checklist,
// when the most severe it has been is most: nil, or
// EINVALID saying the checklist is needed.
func (p Policy) resolveUnchecked(inc *Incident, most Severity) error {
	if !p.ResolutionRequired(most) {
		return nil
	}
	was := ""
	if most != inc.Severity {
		was = fmt.Sprintf(" (%s was %s before it was lowered)", inc.Key(), most)
	}
	return Errorf(EINVALID, "The policy asks %s incidents to confirm the resolution with data%s: use the Resolve button on the control panel and answer the checklist.", most, was)
}

// checkResolution validates the checklist against the policy and returns
// the timeline event that keeps its answers and the notice that says them,
// or nils without a checklist.
func (l *lifecycle) checkResolution(inc *Incident, actor string, c *ResolutionCheck, now time.Time) (*TimelineEvent, *Notice, error) {
	// The incident's most severe: lowering a P1 to P3 before resolving
	// does not skip the checklist a P1 needs.
	sev := inc.MostSevere()
	required := l.policy.ResolutionRequired(sev)
	if c == nil {
		return nil, nil, l.policy.resolveUnchecked(inc, sev)
	}
	c.Notes = strings.TrimSpace(c.Notes)
	if err := CheckText("notes", c.Notes, true); err != nil {
		return nil, nil, err
	}
	if utf8.RuneCountInString(c.Notes) > 2000 {
		return nil, nil, Errorf(EINVALID, "The notes are too long; keep them within 2000 characters.")
	}
	if c.SmokeTested && c.SmokeTester == "" {
		return nil, nil, Errorf(EINVALID, "Say who ran the smoke test.")
	}
	if c.SmokeTester != "" && c.SmokeTester == actor && required {
		return nil, nil, Errorf(EINVALID, "The smoke test should be run by someone not involved in the fix, not by the person resolving.")
	}
	if required && !c.Complete() {
		var missing []string
		if !c.MonitorsGreen {
			missing = append(missing, "monitors green")
		}
		if !c.ErrorRateBaseline {
			missing = append(missing, "error rate and latency at baseline")
		}
		if !c.SmokeTested || c.SmokeTester == "" {
			missing = append(missing, "a smoke test by someone not in the fix")
		}
		return nil, nil, Errorf(EINVALID, "%s incidents are resolved only when confirmed with data; not yet confirmed: %s.", inc.Severity, strings.Join(missing, ", "))
	}
	n := Notice{Kind: NoticeResolutionConfirmed, Incident: inc.Key(), Actor: actor, User: c.SmokeTester, Values: map[string]string{
		"monitors": yesNo(c.MonitorsGreen), "baseline": yesNo(c.ErrorRateBaseline), "smoke": yesNo(c.SmokeTested), "notes": c.Notes}}
	return &TimelineEvent{Kind: EventResolutionCheck, Actor: actor, At: now, Key: true, Text: l.text(n),
		Payload: ResolutionCheckData{MonitorsGreen: YesNo(c.MonitorsGreen), ErrorRateBaseline: YesNo(c.ErrorRateBaseline),
			SmokeTested: YesNo(c.SmokeTested), SmokeTester: c.SmokeTester, Notes: c.Notes}}, &n, nil
}

// SourceMessage is the Slack message an incident was declared from, with
// the "Declare incident" message shortcut.
type SourceMessage struct {
	ChannelID string
	TS        string
	Author    string
	Permalink string
}
