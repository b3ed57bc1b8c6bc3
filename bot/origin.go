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

// checkAction finds the incident a button names and checks that it was
// clicked where it belongs.
func (k *kit) checkAction(ctx context.Context, cb slack.InteractionCallback, find actionIncident, value string) error {
	inc, err := find(ctx, cb, value)
	if err != nil {
		return err
	}
	return k.checkOrigin(ctx, cb, inc)
}

// checkOrigin refuses a button about inc clicked where it does not belong.
func (k *kit) checkOrigin(ctx context.Context, cb slack.InteractionCallback, inc *incident.Incident) error {
	if cb.Channel.ID != "" && cb.Channel.ID == inc.ChannelID {
		return nil
	}
	if cb.Channel.ID != "" {
		other, err := k.incidents.ByChannel(ctx, cb.Channel.ID)
		switch {
		case err != nil && incident.ErrorCode(err) != incident.ENOTFOUND:
			// Not knowing whose channel it is, the click is not acted on.
			return err
		case err == nil && other.ID != inc.ID:
			k.log.WarnContext(ctx, "button from another incident's channel refused", "user", cb.User.ID, "channel", cb.Channel.ID, "incident", inc.Key())
			return incident.Errorf(incident.EFORBIDDEN, "That button does not belong to this channel's incident; use the buttons in the incident's own channel.")
		}
	}
	ok, err := k.incidents.CanSee(ctx, cb.User.ID, inc)
	if err != nil {
		return err
	}
	if !ok {
		k.log.WarnContext(ctx, "button for a private incident refused", "user", cb.User.ID, "channel", cb.Channel.ID, "incident", inc.Key())
		return incident.Errorf(incident.EFORBIDDEN, "That button belongs to a private incident you are not a member of.")
	}
	return nil
}

// sealVersion starts every sealed private_metadata.
const sealVersion = "s1."

// newMetadataKey returns a random key, for a Handler given none; forms
// then verify only on the replica that opened them.
func newMetadataKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// sealer seals and checks the private_metadata of forms with its key.
type sealer struct{ key []byte }

// seal binds a form's private_metadata to the form and the person it is
// opened for.
func (s sealer) seal(v slack.ModalViewRequest, user string) slack.ModalViewRequest {
	payload := base64.RawURLEncoding.EncodeToString([]byte(v.PrivateMetadata))
	v.PrivateMetadata = sealVersion + payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(v.CallbackID, user, payload))
	return v
}

// unseal checks a submitted form's seal and replaces its private_metadata
// by what was sealed.
func (s sealer) unseal(cb *slack.InteractionCallback) error {
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
	if err != nil || !hmac.Equal(got, s.mac(cb.View.CallbackID, cb.User.ID, payload)) {
		return refused
	}
	meta, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return refused
	}
	cb.View.PrivateMetadata = string(meta)
	return nil
}

func (s sealer) mac(callbackID, user, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strconv.Itoa(len(callbackID)) + ":" + callbackID + "|" + strconv.Itoa(len(user)) + ":" + user + "|" + payload))
	return m.Sum(nil)
}
