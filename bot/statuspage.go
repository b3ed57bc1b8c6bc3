package bot

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// ViewStatusPage is the callback id of the status page edit modal.
const ViewStatusPage = "statuspage"

const blockStatusPageBody = "statuspage_body"

// statusPageMeta round-trips the post through the modal's private_metadata.
type statusPageMeta struct {
	IncidentID int64  `json:"i"`
	Kind       string `json:"k"`
	Ref        string `json:"r,omitempty"`
}

// statusPageHandlers answer the communication clock: the status page and
// data-concern commands, the status page's buttons and edit form, and the
// customer e-mail's buttons.
type statusPageHandlers struct {
	kit        *kit
	statusPage StatusPageService
}

func (sp *statusPageHandlers) table() table {
	byID := sp.kit.byID
	return table{
		commands: []command{
			{name: "statuspage", usage: "statuspage [public message]", summary: "Post to the public status page now: the draft in a form, or the text given.", run: sp.statuspageCommand},
			{name: "data-concern", usage: "data-concern", summary: "Flag that customer data may be affected; proposes the customer e-mail at once.", run: sp.dataConcernCommand},
		},
		actions: map[string]action{
			incident.ActionStatusPagePublish: {run: sp.actionPublish, find: sp.publishIncident},
			incident.ActionStatusPageEdit:    {run: sp.actionEditPublic, find: sp.publishIncident},
			incident.ActionStatusPageDecline: {run: sp.actionDecline, find: byID},
			incident.ActionStatusPageRetry:   {run: sp.actionRetryPublic, find: sp.retryIncident},
			incident.ActionEmailSent:         {run: sp.actionCustomerEmail(true), find: byID},
			incident.ActionEmailNotNeeded:    {run: sp.actionCustomerEmail(false), find: byID},
		},
		views: map[string]view{ViewStatusPage: {run: sp.submitStatusPage, sealed: true}},
	}
}

// publishIncident finds the incident a Publish or Edit button names.
func (sp *statusPageHandlers) publishIncident(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	id, _, _, err := incident.ParsePublishValue(v)
	if err != nil {
		return nil, err
	}
	return sp.kit.incidents.Get(ctx, id)
}

// retryIncident finds the incident a Retry button names: "<id>|...".
func (sp *statusPageHandlers) retryIncident(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	idText, _, _ := strings.Cut(v, "|")
	return sp.kit.incidentFromValue(ctx, idText)
}

func (sp *statusPageHandlers) actionPublish(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, kind, ref, err := incident.ParsePublishValue(a.Value)
	if err != nil {
		return err
	}
	scheduled, err := sp.statusPage.Publish(ctx, id, incident.PublishInput{Kind: kind, Ref: ref, Actor: cb.User.ID})
	if err != nil {
		return err
	}
	if !scheduled {
		return incident.Errorf(incident.ECONFLICT, "That post is already on the status page or on its way there.")
	}
	return nil
}

// StatusPageModal lets a publisher edit a post before it goes out.
func StatusPageModal(inc *incident.Incident, kind, ref, draft string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plain("What customers read"), blockStatusPageBody)
	input.Multiline, input.MaxLength, input.InitialValue = true, 3000, clip(draft, 3000)
	block := slack.NewInputBlock(blockStatusPageBody, plain("Public message"), plain("Customers see this on the status page; keep internal details out."), input)
	meta, _ := json.Marshal(statusPageMeta{IncidentID: inc.ID, Kind: kind, Ref: ref})
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: ViewStatusPage, Title: plain(clip("Status page · "+inc.Key(), 24)),
		Submit: plain("Publish"), Close: plain("Cancel"), PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{block}}}
}

func (sp *statusPageHandlers) actionEditPublic(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, kind, ref, err := incident.ParsePublishValue(a.Value)
	if err != nil {
		return err
	}
	inc, err := sp.kit.incidents.Get(ctx, id)
	if err != nil {
		return err
	}
	draft, err := sp.statusPage.Draft(ctx, id, kind, ref)
	if err != nil {
		return err
	}
	return sp.kit.openModal(ctx, cb.TriggerID, cb.User.ID, StatusPageModal(inc, kind, ref, draft))
}

func (sp *statusPageHandlers) submitStatusPage(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	var m statusPageMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &m); err != nil || m.IncidentID == 0 {
		return nil, incident.Errorf(incident.EINVALID, "The form lost track of its incident; open it again.")
	}
	body := strings.TrimSpace(stateValue(cb, blockStatusPageBody).Value)
	if body == "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockStatusPageBody: "Write what customers should read."}), nil
	}
	scheduled, err := sp.statusPage.Publish(ctx, m.IncidentID, incident.PublishInput{Kind: m.Kind, Ref: m.Ref, Body: body, Actor: cb.User.ID})
	if err != nil {
		if code := incident.ErrorCode(err); code == incident.EINVALID || code == incident.ECONFLICT || code == incident.EFORBIDDEN {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{blockStatusPageBody: userMessage(err)}), nil
		}
		return nil, err
	}
	if !scheduled {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockStatusPageBody: "That post is already on the status page or on its way there."}), nil
	}
	return nil, nil
}

func (sp *statusPageHandlers) actionDecline(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := sp.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	_, err = sp.statusPage.Decline(ctx, inc.ID, cb.User.ID)
	return err
}

func (sp *statusPageHandlers) actionRetryPublic(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	return sp.statusPage.RetryStatusPage(ctx, a.Value, cb.User.ID)
}

func (sp *statusPageHandlers) actionCustomerEmail(sent bool) ActionHandler {
	return func(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
		inc, err := sp.kit.incidentFromValue(ctx, a.Value)
		if err != nil {
			return err
		}
		_, err = sp.statusPage.CustomerEmail(ctx, inc.ID, sent, cb.User.ID)
		return err
	}
}

// statuspageCommand is "/incident statuspage [text]": publish the first
// post (or an update, once public) now, with the draft or the given text.
func (sp *statusPageHandlers) statuspageCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := sp.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	kind := incident.PostAcknowledge
	if inc.PublicID != "" {
		kind = incident.PostUpdate
	}
	if inv.Args == "" && inv.Cmd.TriggerID != "" {
		draft, err := sp.statusPage.Draft(ctx, inc.ID, kind, "")
		if err != nil {
			return Reply{}, err
		}
		return Reply{}, sp.kit.openModal(ctx, inv.Cmd.TriggerID, inv.Cmd.UserID, StatusPageModal(inc, kind, "", draft))
	}
	ref := ""
	if kind == incident.PostUpdate {
		// Each command is its own post; a retried delivery of the same
		// command carries the same trigger id and posts once.
		ref = "cmd-" + inv.Cmd.TriggerID
		if inv.Cmd.TriggerID == "" {
			ref = "cmd-" + strconv.FormatInt(sp.kit.clock.Now().UnixNano(), 10)
		}
	}
	scheduled, err := sp.statusPage.Publish(ctx, inc.ID, incident.PublishInput{Kind: kind, Ref: ref, Body: inv.Args, Actor: inv.Cmd.UserID})
	if err != nil {
		return Reply{}, err
	}
	if !scheduled {
		return ephemeral("That post is already on the status page or on its way there."), nil
	}
	return ephemeral("Posting %s to the status page; the channel will show the link.", inc.Key()), nil
}

// dataConcernCommand is "/incident data-concern": flag that customer data
// may be affected, which proposes the customer e-mail at once.
func (sp *statusPageHandlers) dataConcernCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := sp.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if _, err := sp.statusPage.FlagDataConcern(ctx, inc.ID, inv.Cmd.UserID); err != nil {
		return Reply{}, err
	}
	return ephemeral("%s is flagged for a data concern; the customer e-mail draft follows in the channel.", inc.Key()), nil
}

// publicField is the panel's status page line, once the incident is public.
func publicField(inc *incident.Incident) (string, bool) {
	if inc.PublicID == "" {
		return "", false
	}
	v := Escape(inc.PublicID)
	if inc.PublicURL != "" {
		v = Link(inc.PublicURL, inc.PublicID)
	}
	return panelField("Status page", v), true
}
