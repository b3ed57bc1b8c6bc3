package bot

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/postmortem"
)

// Where a button or a form comes from is checked before it is acted on.
//
// A button's value names an incident (or a page, a rollback, an export of
// one). Slack signs the payload, but not the value's relation to the
// channel: a signed click can carry the value of another channel's
// button. So the incident a button names must be the incident of the
// channel it was clicked in, or one the person can see (a public
// incident, or a private one they are a member of); a button naming one
// incident clicked in another incident's channel is refused.
//
// A form's private_metadata round-trips through the person's client, so it
// is sealed: an HMAC binds it to the form (callback_id) and to the person
// it was opened for, and a submission whose seal does not match is
// refused, so metadata cannot be replayed in another form or by someone
// else.

// actionIncident finds the incident a button names.
type actionIncident func(ctx context.Context, cb slack.InteractionCallback, value string) (*incident.Incident, error)

// incidentActions maps each incident-bound button to how its value names
// the incident. Every button the bot posts about an incident is listed.
func (h *Handler) incidentActions() map[string]actionIncident {
	byID := func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
		return h.incidentFromValue(ctx, v)
	}
	return map[string]actionIncident{
		ActionClaimIC:            byID,
		ActionConfirmTakeIC:      byID,
		ActionAssignRoles:        byID,
		ActionChangeSeverity:     byID,
		ActionResolve:            byID,
		ActionPostUpdate:         byID,
		ActionStillInvestigating: byID,
		ActionSnooze:             byID,
		ActionWhatChanged:        byID,
		ActionPage:               byID,
		incident.ActionRepage: func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
			idText, _, _ := strings.Cut(v, "|")
			return h.incidentFromValue(ctx, idText)
		},
		incident.ActionRollback: func(ctx context.Context, cb slack.InteractionCallback, _ string) (*incident.Incident, error) {
			return h.cfg.Incidents.ByChannel(ctx, cb.Channel.ID)
		},
		incident.ActionApproveRol: func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
			return h.cfg.Rollbacks.RollbackIncident(ctx, v)
		},
		incident.ActionRetryRoll: func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
			return h.cfg.Rollbacks.RollbackIncident(ctx, v)
		},
		incident.ActionAckPage: func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
			return h.cfg.Paging.PageIncident(ctx, v)
		},
		incident.ActionRetryPage: func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
			return h.cfg.Paging.RetryPageIncident(ctx, v)
		},
		incident.ActionStatusPagePublish: func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
			id, _, _, err := comms.ParsePublishValue(v)
			if err != nil {
				return nil, err
			}
			return h.cfg.Incidents.Get(ctx, id)
		},
		incident.ActionStatusPageEdit: func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
			id, _, _, err := comms.ParsePublishValue(v)
			if err != nil {
				return nil, err
			}
			return h.cfg.Incidents.Get(ctx, id)
		},
		incident.ActionStatusPageRetry: func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
			idText, _, _ := strings.Cut(v, "|")
			return h.incidentFromValue(ctx, idText)
		},
		incident.ActionStatusPageDecline: byID,
		incident.ActionEmailSent:         byID,
		incident.ActionEmailNotNeeded:    byID,
		incident.ActionExport: func(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
			id, _, err := postmortem.ParseExportValue(v)
			if err != nil {
				return nil, err
			}
			return h.cfg.Incidents.Get(ctx, id)
		},
	}
}

// checkOrigin refuses a button about inc clicked where it does not belong.
func (h *Handler) checkOrigin(ctx context.Context, cb slack.InteractionCallback, inc *incident.Incident) error {
	if cb.Channel.ID != "" && cb.Channel.ID == inc.ChannelID {
		return nil
	}
	if cb.Channel.ID != "" {
		if other, err := h.cfg.Incidents.ByChannel(ctx, cb.Channel.ID); err == nil && other.ID != inc.ID {
			h.log.WarnContext(ctx, "button from another incident's channel refused", "user", cb.User.ID, "channel", cb.Channel.ID, "incident", inc.Key())
			return incident.Errorf(incident.EFORBIDDEN, "That button does not belong to this channel's incident; use the buttons in the incident's own channel.")
		}
	}
	ok, err := h.cfg.Incidents.CanSee(ctx, cb.User.ID, inc)
	if err != nil {
		return err
	}
	if !ok {
		h.log.WarnContext(ctx, "button for a private incident refused", "user", cb.User.ID, "channel", cb.Channel.ID, "incident", inc.Key())
		return incident.Errorf(incident.EFORBIDDEN, "That button belongs to a private incident you are not a member of.")
	}
	return nil
}

// sealedViews are the forms whose private_metadata is sealed: every form
// the bot opens about an incident, and the declare form.
var sealedViews = map[string]bool{ViewDeclare: true, ViewRoles: true, ViewSeverity: true, ViewUpdate: true, ViewRollback: true, ViewResolve: true,
	ViewStatusPage: true}

// sealVersion starts every sealed private_metadata.
const sealVersion = "s1."

// newMetadataKey returns a random key, for a Handler given none; forms
// then verify only on the replica that opened them.
func newMetadataKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// seal binds a form's private_metadata to the form and the person it is
// opened for.
func (h *Handler) seal(v slack.ModalViewRequest, user string) slack.ModalViewRequest {
	payload := base64.RawURLEncoding.EncodeToString([]byte(v.PrivateMetadata))
	v.PrivateMetadata = sealVersion + payload + "." + base64.RawURLEncoding.EncodeToString(h.mac(v.CallbackID, user, payload))
	return v
}

// unseal checks a submitted form's seal and replaces its private_metadata
// by what was sealed.
func (h *Handler) unseal(cb *slack.InteractionCallback) error {
	refused := incident.Errorf(incident.EFORBIDDEN, "This form was not opened for you here; open it again from the incident's channel.")
	rest, ok := strings.CutPrefix(cb.View.PrivateMetadata, sealVersion)
	if !ok {
		return refused
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return refused
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, h.mac(cb.View.CallbackID, cb.User.ID, payload)) {
		return refused
	}
	meta, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return refused
	}
	cb.View.PrivateMetadata = string(meta)
	return nil
}

func (h *Handler) mac(callbackID, user, payload string) []byte {
	m := hmac.New(sha256.New, h.metadataKey)
	m.Write([]byte(strconv.Itoa(len(callbackID)) + ":" + callbackID + "|" + strconv.Itoa(len(user)) + ":" + user + "|" + payload))
	return m.Sum(nil)
}
