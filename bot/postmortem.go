package bot

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
)

const (
	postmortemUsage   = "postmortem [export confluence|github]"
	postmortemSummary = "Draft the postmortem in this channel, or export it to Confluence or GitHub."
)

// postmortemHandlers answer the postmortem command and the export buttons.
// With no postmortem service they say postmortems are not configured.
type postmortemHandlers struct {
	kit         *kit
	postmortems PostmortemService
}

func (p *postmortemHandlers) table() table {
	return table{
		commands: []command{{name: "postmortem", usage: postmortemUsage, summary: postmortemSummary, run: p.postmortemCommand}},
		actions:  map[string]action{incident.ActionExport: {run: p.actionExport, find: p.exportIncident}},
	}
}

// exportIncident finds the incident an Export button names.
func (p *postmortemHandlers) exportIncident(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	id, _, err := postmortem.ParseExportValue(v)
	if err != nil {
		return nil, err
	}
	return p.kit.incidents.Get(ctx, id)
}

// actionExport answers an Export (or Retry) button: "<incident id>:<target>".
// A click while an export asked for a moment ago has not started (a double
// click) schedules nothing, and the person is told that export is under way
// (postmortem.ErrExportUnderWay, a conflict).
func (p *postmortemHandlers) actionExport(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	if p.postmortems == nil {
		return incident.Errorf(incident.EINVALID, "Postmortem export is not configured.")
	}
	id, target, err := postmortem.ParseExportValue(a.Value)
	if err != nil {
		return err
	}
	return p.postmortems.Export(ctx, id, target, cb.User.ID, incident.ReplyTarget{ChannelID: cb.Channel.ID, UserID: cb.User.ID})
}

// postmortemCommand is "/incident postmortem" (draft it in the channel) and
// "/incident postmortem export <target>".
func (p *postmortemHandlers) postmortemCommand(ctx context.Context, inv Invocation) (Reply, error) {
	if p.postmortems == nil {
		return Reply{}, incident.Errorf(incident.EINVALID, "Postmortems are not configured for this bot.")
	}
	fields := strings.Fields(strings.ToLower(inv.Args))
	if len(fields) > 0 && fields[0] != "export" {
		return Reply{}, incident.Errorf(incident.EINVALID, "Use `postmortem` to draft the postmortem, or `postmortem export <target>` to export it.")
	}
	targets := p.postmortems.Targets()
	var target string
	if len(fields) > 0 {
		if len(targets) == 0 {
			return Reply{}, incident.Errorf(incident.EINVALID, "No postmortem export is configured: set CONFLUENCE_URL (with its e-mail, API token and space) or GITHUB_POSTMORTEM_REPO.")
		}
		if len(fields) != 2 || !slices.Contains(targets, fields[1]) {
			return Reply{}, incident.Errorf(incident.EINVALID, "Say where to export: %s.", strings.Join(targets, " or "))
		}
		target = fields[1]
	}
	inc, err := p.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if target == "" {
		if err := p.postmortems.ScheduleDraft(ctx, inc); err != nil {
			return Reply{}, err
		}
		return ephemeral("Drafting the %s postmortem; it will appear in this channel shortly.", inc.Key()), nil
	}
	reply := incident.ReplyTarget{ResponseURL: inv.Cmd.ResponseURL, ChannelID: inv.Cmd.ChannelID, UserID: inv.Cmd.UserID}
	err = p.postmortems.Export(ctx, inc.ID, target, inv.Cmd.UserID, reply)
	switch {
	case errors.Is(err, postmortem.ErrExportUnderWay):
		// Nothing was scheduled: the export asked for a moment ago, not
		// started yet, publishes the draft and posts the link.
		return ephemeral("%s", userMrkdwn(err)), nil
	case err != nil:
		return Reply{}, err
	}
	return ephemeral("Exporting the %s postmortem to %s; the link will be posted in this channel.", inc.Key(), target), nil
}
