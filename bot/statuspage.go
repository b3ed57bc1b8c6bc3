package bot

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
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

// registerStatusPageHandlers wires the communication clock's buttons.
func (h *Handler) registerStatusPageHandlers() {
	h.OnAction(incident.ActionStatusPagePublish, h.actionPublish)
	h.OnAction(incident.ActionStatusPageEdit, h.actionEditPublic)
	h.OnAction(incident.ActionStatusPageDecline, h.actionDecline)
	h.OnAction(incident.ActionStatusPageRetry, h.actionRetryPublic)
	h.OnAction(incident.ActionEmailSent, h.actionCustomerEmail(true))
	h.OnAction(incident.ActionEmailNotNeeded, h.actionCustomerEmail(false))
	h.OnView(ViewStatusPage, h.submitStatusPage)
}

func (h *Handler) actionPublish(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, kind, ref, err := comms.ParsePublishValue(a.Value)
	if err != nil {
		return err
	}
	scheduled, err := h.cfg.StatusPage.Publish(ctx, id, comms.PublishInput{Kind: kind, Ref: ref, Actor: cb.User.ID})
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

func (h *Handler) actionEditPublic(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, kind, ref, err := comms.ParsePublishValue(a.Value)
	if err != nil {
		return err
	}
	inc, err := h.cfg.Incidents.Get(ctx, id)
	if err != nil {
		return err
	}
	draft, err := h.cfg.StatusPage.Draft(ctx, id, kind, ref)
	if err != nil {
		return err
	}
	return h.openIncidentModal(ctx, cb.TriggerID, cb.User.ID, StatusPageModal(inc, kind, ref, draft))
}

func (h *Handler) submitStatusPage(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	var m statusPageMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &m); err != nil || m.IncidentID == 0 {
		return nil, incident.Errorf(incident.EINVALID, "The form lost track of its incident; open it again.")
	}
	body := strings.TrimSpace(stateValue(cb, blockStatusPageBody).Value)
	if body == "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockStatusPageBody: "Write what customers should read."}), nil
	}
	scheduled, err := h.cfg.StatusPage.Publish(ctx, m.IncidentID, comms.PublishInput{Kind: m.Kind, Ref: m.Ref, Body: body, Actor: cb.User.ID})
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

func (h *Handler) actionDecline(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := h.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	_, err = h.cfg.Comms.Decline(ctx, inc.ID, cb.User.ID)
	return err
}

func (h *Handler) actionRetryPublic(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	return h.cfg.StatusPage.RetryStatusPage(ctx, a.Value, cb.User.ID)
}

func (h *Handler) actionCustomerEmail(sent bool) ActionHandler {
	return func(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
		inc, err := h.incidentFromValue(ctx, a.Value)
		if err != nil {
			return err
		}
		_, err = h.cfg.Comms.CustomerEmail(ctx, inc.ID, sent, cb.User.ID)
		return err
	}
}

// statuspageCommand is "/incident statuspage [text]": publish the first
// post (or an update, once public) now, with the draft or the given text.
func (h *Handler) statuspageCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := h.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	kind := incident.PostAcknowledge
	if inc.PublicID != "" {
		kind = incident.PostUpdate
	}
	if inv.Args == "" && inv.Cmd.TriggerID != "" {
		draft, err := h.cfg.StatusPage.Draft(ctx, inc.ID, kind, "")
		if err != nil {
			return Reply{}, err
		}
		return Reply{}, h.openIncidentModal(ctx, inv.Cmd.TriggerID, inv.Cmd.UserID, StatusPageModal(inc, kind, "", draft))
	}
	ref := ""
	if kind == incident.PostUpdate {
		// Each command is its own post; a retried delivery of the same
		// command carries the same trigger id and posts once.
		ref = "cmd-" + inv.Cmd.TriggerID
		if inv.Cmd.TriggerID == "" {
			ref = "cmd-" + strconv.FormatInt(h.cfg.Clock.Now().UnixNano(), 10)
		}
	}
	scheduled, err := h.cfg.StatusPage.Publish(ctx, inc.ID, comms.PublishInput{Kind: kind, Ref: ref, Body: inv.Args, Actor: inv.Cmd.UserID})
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
func (h *Handler) dataConcernCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := h.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if _, err := h.cfg.Comms.FlagDataConcern(ctx, inc.ID, inv.Cmd.UserID); err != nil {
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
