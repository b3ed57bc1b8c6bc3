package bot

import (
	"context"
	"fmt"
	"strconv"

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

// actionAlertDeclare is the Declare button of an alert proposal.
func (ah *alertHandlers) actionAlertDeclare(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, err := alertID(a)
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
	id, err := alertID(a)
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
