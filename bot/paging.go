package bot

import (
	"context"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// registerPagingHandlers wires the paging buttons.
func (h *Handler) registerPagingHandlers() {
	h.OnAction(ActionPage, h.actionPage)
	h.OnAction(incident.ActionAckPage, h.actionAckPage)
	h.OnAction(incident.ActionRetryPage, h.actionRetryPage)
	h.OnAction(incident.ActionRepage, h.actionRepage)
}

func (h *Handler) actionPage(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := h.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	_, err = h.cfg.Paging.Page(ctx, inc.ID, "", cb.User.ID)
	return err
}

func (h *Handler) actionAckPage(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	return h.cfg.Paging.AcknowledgePage(ctx, a.Value, cb.User.ID, incident.ReplyTarget{ChannelID: cb.Channel.ID, UserID: cb.User.ID})
}

func (h *Handler) actionRetryPage(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	return h.cfg.Paging.RetryPage(ctx, a.Value, cb.User.ID)
}

func (h *Handler) actionRepage(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	idText, service, _ := strings.Cut(a.Value, "|")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return incident.Errorf(incident.EINVALID, "The button does not name an incident.")
	}
	_, err = h.cfg.Paging.Page(ctx, id, service, cb.User.ID)
	return err
}

// pageCommand is "/incident page [service]".
func (h *Handler) pageCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := h.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	service := strings.ToLower(strings.TrimSpace(inv.Args))
	if _, err := h.cfg.Paging.Page(ctx, inc.ID, service, inv.Cmd.UserID); err != nil {
		return Reply{}, err
	}
	if service == "" {
		service = inc.Service
	}
	return ephemeral("Paging %s for %s; the channel will show who was paged.", service, inc.Key()), nil
}

// oncallCommand is "/incident oncall [service]"; the answer comes from a job.
func (h *Handler) oncallCommand(ctx context.Context, inv Invocation) (Reply, error) {
	service := strings.ToLower(strings.TrimSpace(inv.Args))
	if service == "" {
		inc, err := h.cfg.Incidents.ByChannel(ctx, inv.Cmd.ChannelID)
		if err != nil || inc.Service == "" {
			return Reply{}, incident.Errorf(incident.EINVALID, "Say which service, such as `oncall checkout`.")
		}
		service = inc.Service
	}
	reply := incident.ReplyTarget{ResponseURL: inv.Cmd.ResponseURL, ChannelID: inv.Cmd.ChannelID, UserID: inv.Cmd.UserID}
	if err := h.cfg.Paging.OnCall(ctx, service, reply); err != nil {
		return Reply{}, err
	}
	return ephemeral("Asking PagerDuty who is on call for %s…", service), nil
}
