package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// alertHandlers answer the buttons of an alert proposal: declare an
// incident from it, or judge it not one.
type alertHandlers struct {
	kit    *kit
	alerts AlertService
}

func (ah *alertHandlers) table() table {
	return table{actions: map[string]action{
		incident.ActionAlertDeclare: {run: ah.actionAlertDeclare},
		incident.ActionAlertDismiss: {run: ah.actionAlertDismiss},
	}}
}

func alertID(a *slack.BlockAction) (int64, error) {
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil || id <= 0 {
		return 0, incident.Errorf(incident.EINVALID, "The button does not name an alert.")
	}
	return id, nil
}

// errAlertElsewhere refuses an alert's button clicked outside the channel
// its proposal was posted in.
var errAlertElsewhere = incident.Errorf(incident.EFORBIDDEN,
	"You can't act on that alert here because its proposal was posted in another channel; use the buttons on the proposal itself.")

// proposedHere reads the alert a button names and refuses the click when
// it comes from another channel than the one the alert's proposal was
// posted in: the value names an alert by id, and a click carrying it from
// elsewhere would decide, and be told the title of, an alert proposed in a
// channel the person may not be in. The channel is compared by id, or by
// name when the policy names it and the click says its channel's name.
// An alert not proposed yet, or one of a group (whose proposal is its
// leader's), names no channel.
func (ah *alertHandlers) proposedHere(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) (int64, error) {
	id, err := alertID(a)
	if err != nil {
		return 0, err
	}
	al, err := ah.alerts.GetAlert(ctx, id)
	if err != nil {
		return 0, err
	}
	where := al.ChannelID
	elsewhere := false
	switch {
	case where == "":
	case isSlackID(where, "CGD"):
		elsewhere = cb.Channel.ID != where
	case cb.Channel.Name != "" && cb.Channel.Name != "privategroup":
		elsewhere = cb.Channel.Name != strings.TrimPrefix(where, "#")
	}
	if elsewhere {
		ah.kit.log.WarnContext(ctx, "alert button from another channel refused", "user", cb.User.ID, "channel", cb.Channel.ID, "alert", id)
		return 0, errAlertElsewhere
	}
	return id, nil
}

// actionAlertDeclare is the Declare button of an alert proposal.
func (ah *alertHandlers) actionAlertDeclare(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, err := ah.proposedHere(ctx, cb, a)
	if err != nil {
		return err
	}
	inc, err := ah.alerts.DeclareFromAlert(ctx, id, cb.User.ID, incident.ReplyTarget{UserID: cb.User.ID})
	if err != nil {
		return err
	}
	al, err := ah.alerts.GetAlert(ctx, id)
	if err != nil {
		return err
	}
	ah.kit.replaceClicked(ctx, cb, fmt.Sprintf(":rotating_light: <@%s> declared *%s* (%s) from the alert %s (%s). Opening its channel…",
		cb.User.ID, inc.Key(), inc.Severity, Escape(al.Title), al.Source))
	return nil
}

// actionAlertDismiss is the Not an incident button.
func (ah *alertHandlers) actionAlertDismiss(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, err := ah.proposedHere(ctx, cb, a)
	if err != nil {
		return err
	}
	al, err := ah.alerts.DismissAlert(ctx, id, cb.User.ID)
	if err != nil {
		return err
	}
	ah.kit.replaceClicked(ctx, cb, fmt.Sprintf(":white_circle: <@%s> judged the alert %s (%s) not an incident.", cb.User.ID, Escape(al.Title), al.Source))
	return nil
}
