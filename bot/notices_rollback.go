package bot

import (
	"fmt"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// rollbackWordings word the list of changes and the rollbacks asked for
// from it. The plan, the flag, the repository, the environment and the
// provider's detail all come from outside and are escaped.
var rollbackWordings = map[incident.NoticeKind]wordFunc{
	incident.NoticeRollbackRequested:  rollbackRequestedText,
	incident.NoticeRollbackApproval:   rollbackApprovalText,
	incident.NoticeRollbackApproved:   rollbackApprovedText,
	incident.NoticeRollbackRetry:      rollbackRetryText,
	incident.NoticeRollbackStarted:    rollbackStartedText,
	incident.NoticeRollbackProgress:   rollbackProgressText,
	incident.NoticeRollbackSucceeded:  rollbackSucceededText,
	incident.NoticeRollbackFailed:     rollbackFailedText,
	incident.NoticeRollbackUnfollowed: rollbackUnfollowedText,
	incident.NoticeRollbackRule:       rollbackRuleText,
	incident.NoticeChangesFailed:      changesFailedText,
}

func rollbackRequestedText(n incident.Notice, w wording) string {
	if n.Values["approval"] == "true" {
		return fmt.Sprintf(":raised_hand: %s asked for a rollback: %s It needs a second person's approval.", slackUser(n.Actor), w.esc(n.Values["plan"]))
	}
	return fmt.Sprintf(":rewind: %s confirmed a rollback: %s", slackUser(n.Actor), w.esc(n.Values["plan"]))
}

func rollbackApprovalText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":raised_hand: %s asked for a rollback: %s\nA rollback in %s needs a second person: someone else among %s must approve before it runs.",
		slackUser(n.User), w.esc(n.Values["plan"]), rollbackEnvironment(n, w), whoOf(n.Values["who"]))
}

func rollbackApprovedText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":white_check_mark: %s approved the rollback %s asked for: %s", slackUser(n.Actor), slackUser(n.User), w.esc(n.Values["plan"]))
}

func rollbackRetryText(n incident.Notice, w wording) string {
	if n.Values["approval"] == "true" {
		return fmt.Sprintf(":raised_hand: %s asked to retry the rollback: %s It needs a second person's approval.", slackUser(n.Actor), w.esc(n.Values["plan"]))
	}
	return fmt.Sprintf(":repeat: %s is retrying the rollback: %s", slackUser(n.Actor), w.esc(n.Values["plan"]))
}

func rollbackStartedText(n incident.Notice, w wording) string {
	if n.Values["dry_run"] == "true" {
		return fmt.Sprintf(":rewind: Dry run for %s: this would have rolled back now: %s Nothing was changed.", slackUser(n.Actor), w.esc(n.Values["plan"]))
	}
	text := fmt.Sprintf(":rewind: Rolling back on behalf of %s: %s%s", slackUser(n.Actor), w.esc(n.Values["plan"]), rollbackLink(n, "Follow it"))
	if n.User != "" {
		text += fmt.Sprintf(" (approved by %s)", slackUser(n.User))
	}
	return text
}

func rollbackProgressText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":hourglass_flowing_sand: Rollback of %s is in progress.%s", rollbackSubject(n, w.esc), rollbackLink(n, "Follow it"))
}

func rollbackSucceededText(n incident.Notice, w wording) string {
	text := fmt.Sprintf(":white_check_mark: Rollback of %s succeeded in %s, requested by %s.", rollbackSubject(n, w.esc), n.Values["after"], slackUser(n.User))
	if d := n.Values["detail"]; d != "" {
		text += " " + w.esc(d)
	}
	return text + rollbackLink(n, "Details")
}

func rollbackFailedText(n incident.Notice, w wording) string {
	detail := w.esc(n.Values["detail"])
	if detail == "" {
		detail = "the provider reported a failure."
	}
	return fmt.Sprintf(":x: *Rollback of %s failed*: %s%s\nRetry once the cause is fixed, or roll back by hand.", rollbackSubject(n, w.esc), detail, rollbackLink(n, "Details"))
}

func rollbackUnfollowedText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":warning: I stopped checking the rollback of %s after %s; it had not finished.%s", rollbackSubject(n, w.esc), n.Values["after"], rollbackLink(n, "Follow it there"))
}

func rollbackRuleText(n incident.Notice, w wording) string {
	who := whoOf(n.Values["who"])
	if who == "" {
		who = "nobody: the policy names no owners"
	}
	text := "Only " + who + " may confirm."
	if n.Values["approval"] == "true" {
		text += fmt.Sprintf(" A rollback in %s while a %s incident is involved needs a second person's approval before anything runs.",
			rollbackEnvironment(n, w), n.Values["severity"])
	}
	return text
}

func changesFailedText(n incident.Notice, w wording) string {
	return "I could not post the list of changes: " + w.esc(n.Values["error"])
}

// rollbackLink links the provider's run with label, if it has a link.
func rollbackLink(n incident.Notice, label string) string {
	if n.Values["url"] == "" {
		return ""
	}
	return " " + Link(n.Values["url"], label)
}

// rollbackEnvironment names the environment a rollback runs in.
func rollbackEnvironment(n incident.Notice, w wording) string {
	if env := w.esc(n.Values["environment"]); env != "" {
		return env
	}
	return "this environment"
}

// rollbackSubject names what a rollback undoes: the flag, the repository
// and the commit deployed back, or the plan.
func rollbackSubject(n incident.Notice, esc func(string) string) string {
	v := func(k string) string { return esc(n.Values[k]) }
	switch {
	case v("flag") != "":
		return fmt.Sprintf("flag %s in %s", v("flag"), v("environment"))
	case v("repo") != "":
		return fmt.Sprintf("%s in %s to %s", v("repo"), v("environment"), v("to"))
	}
	return strings.TrimSuffix(v("plan"), ".")
}

// whoOf names the policy references of a comma-separated list, users and
// user groups by mention.
func whoOf(refs string) string {
	var ps []incident.Principal
	for _, r := range strings.Split(refs, ",") {
		if r = strings.TrimSpace(r); r != "" {
			ps = append(ps, incident.Principal{Kind: incident.PrincipalRef, ID: r})
		}
	}
	return incident.WhoList(ps, slackUser, slackGroup)
}
