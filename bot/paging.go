package bot

import (
	"context"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// pagingHandlers answer paging: the page and on-call commands, and the
// buttons to page, acknowledge, retry and re-page.
type pagingHandlers struct {
	kit    *kit
	paging PagingService
}

func (p *pagingHandlers) table() table {
	return table{
		commands: []command{
			{name: "page", usage: "page [service]", summary: "Page the service's on-call in PagerDuty (again), or another service.", run: p.pageCommand},
			{name: "oncall", usage: "oncall [service]", summary: "Show who is on call now.", run: p.oncallCommand},
		},
		actions: map[string]action{
			ActionPage:               {run: p.actionPage, find: p.kit.byID},
			incident.ActionAckPage:   {run: p.actionAckPage, find: p.pageIncident},
			incident.ActionRetryPage: {run: p.actionRetryPage, find: p.retryPageIncident},
			incident.ActionRepage:    {run: p.actionRepage, find: p.repageIncident},
		},
	}
}

// pageIncident finds the incident of the page an Acknowledge button names.
func (p *pagingHandlers) pageIncident(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	return p.paging.PageIncident(ctx, v)
}

// retryPageIncident finds the incident of the page a Retry button names.
func (p *pagingHandlers) retryPageIncident(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	return p.paging.RetryPageIncident(ctx, v)
}

// repageIncident finds the incident a Re-page button names: "<id>|<service>".
func (p *pagingHandlers) repageIncident(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	idText, _, _ := strings.Cut(v, "|")
	return p.kit.incidentFromValue(ctx, idText)
}

func (p *pagingHandlers) actionPage(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := p.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	_, err = p.paging.Page(ctx, inc.ID, "", cb.User.ID)
	return err
}

func (p *pagingHandlers) actionAckPage(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	return p.paging.AcknowledgePage(ctx, a.Value, cb.User.ID, incident.ReplyTarget{ChannelID: cb.Channel.ID, UserID: cb.User.ID})
}

func (p *pagingHandlers) actionRetryPage(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	return p.paging.RetryPage(ctx, a.Value, cb.User.ID)
}

func (p *pagingHandlers) actionRepage(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	idText, service, _ := strings.Cut(a.Value, "|")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return incident.Errorf(incident.EINVALID, "The button does not name an incident.")
	}
	_, err = p.paging.Page(ctx, id, service, cb.User.ID)
	return err
}

// pageCommand is "/incident page [service]".
func (p *pagingHandlers) pageCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := p.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	service := strings.ToLower(strings.TrimSpace(inv.Args))
	if _, err := p.paging.Page(ctx, inc.ID, service, inv.Cmd.UserID); err != nil {
		return Reply{}, err
	}
	if service == "" {
		service = inc.Service
	}
	return ephemeral("Paging %s for %s; the channel will show who was paged.", service, inc.Key()), nil
}

// oncallCommand is "/incident oncall [service]"; the answer comes from a job.
func (p *pagingHandlers) oncallCommand(ctx context.Context, inv Invocation) (Reply, error) {
	if err := p.refuseGuest(ctx, inv.Cmd.UserID); err != nil {
		return Reply{}, err
	}
	service := strings.ToLower(strings.TrimSpace(inv.Args))
	if service == "" {
		inc, err := p.kit.incidents.ByChannel(ctx, inv.Cmd.ChannelID)
		if err != nil || inc.Service == "" {
			return Reply{}, incident.Errorf(incident.EINVALID, "Say which service, such as `oncall checkout`.")
		}
		service = inc.Service
	}
	reply := incident.ReplyTarget{ResponseURL: inv.Cmd.ResponseURL, ChannelID: inv.Cmd.ChannelID, UserID: inv.Cmd.UserID}
	if err := p.paging.OnCall(ctx, service, reply); err != nil {
		return Reply{}, err
	}
	return ephemeral("Asking PagerDuty who is on call for %s…", service), nil
}

// refuseGuest refuses who is on call to a guest of the workspace
// (incident.ActSeeOnCall): the names and schedules of every service's
// on-call are the workspace's own, not its contractors' or partners'.
// Someone Slack cannot say about in time is taken for a member, as for any
// other action.
func (p *pagingHandlers) refuseGuest(ctx context.Context, user string) error {
	d, err := p.kit.incidents.Authorize(ctx, incident.Request{Subject: incident.Subject{User: user}, Action: incident.ActSeeOnCall})
	if err != nil {
		return err
	}
	return d.Err()
}
