package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// followThroughHandlers answer what follows an incident: the open
// follow-ups across incidents and the postmortem review.
type followThroughHandlers struct {
	kit           *kit
	followThrough FollowThroughService
}

func (ft *followThroughHandlers) table() table {
	return table{commands: []command{
		{name: "followups", usage: followupsUsage, summary: followupsSummary, run: ft.followupsCommand},
		{name: "review", usage: reviewUsage, summary: reviewSummary, run: ft.reviewCommand},
	}}
}

const (
	followupsUsage   = "followups [mine|overdue]"
	followupsSummary = "List open follow-ups of every incident, overdue first; `mine` keeps yours, `overdue` the late ones."
	reviewUsage      = "review [draft|in_review|published]"
	reviewSummary    = "Show the postmortem review's due date and state, or move it on (in a closed incident's channel)."
)

// followupsCommand lists open action items across incidents.
func (ft *followThroughHandlers) followupsCommand(ctx context.Context, inv Invocation) (Reply, error) {
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
	items, err := ft.followThrough.Followups(ctx, f)
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
func (ft *followThroughHandlers) reviewCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := ft.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	arg := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(inv.Args, " ", "_")))
	if arg == "" {
		r, err := ft.followThrough.Review(ctx, inc.ID)
		if err != nil {
			return Reply{}, err
		}
		owner := "nobody"
		if r.Owner != "" {
			owner = "<@" + r.Owner + ">"
		}
		return ephemeral("The postmortem review of %s is *%s*, due %s, owner %s.", inc.Key(), r.State.Label(), r.DueOn.Format("Mon 2 Jan 2006"), owner), nil
	}
	r, err := ft.followThrough.SetReviewState(ctx, inc.ID, incident.ReviewState(arg), inv.Cmd.UserID)
	if err != nil {
		return Reply{}, err
	}
	return ephemeral("The review of %s is now *%s*.", inc.Key(), r.State.Label()), nil
}
