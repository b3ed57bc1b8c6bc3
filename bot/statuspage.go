package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

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

// commsHandlers answer the communication clock: the comms, status page and
// data-concern commands, the status page's buttons and edit form, and the
// customer e-mail's buttons.
type commsHandlers struct {
	kit        *kit
	statusPage StatusPageService
	comms      CommsService
}

func (c *commsHandlers) table() table {
	byID := c.kit.byID
	return table{
		commands: []command{
			{name: "comms", usage: "comms", summary: "Show the status-page and customer e-mail drafts, ready to copy.", run: c.commsCommand},
			{name: "statuspage", usage: "statuspage [public message]", summary: "Post to the public status page now: the draft in a form, or the text given.", run: c.statuspageCommand},
			{name: "data-concern", usage: "data-concern", summary: "Flag that customer data may be affected; proposes the customer e-mail at once.", run: c.dataConcernCommand},
		},
		actions: map[string]action{
			incident.ActionStatusPagePublish: {run: c.actionPublish, find: c.publishIncident},
			incident.ActionStatusPageEdit:    {run: c.actionEditPublic, find: c.publishIncident},
			incident.ActionStatusPageDecline: {run: c.actionDecline, find: byID},
			incident.ActionStatusPageRetry:   {run: c.actionRetryPublic, find: c.retryIncident},
			incident.ActionEmailSent:         {run: c.actionCustomerEmail(true), find: byID},
			incident.ActionEmailNotNeeded:    {run: c.actionCustomerEmail(false), find: byID},
		},
		views: map[string]view{ViewStatusPage: {run: c.submitStatusPage, sealed: true}},
	}
}

// publishIncident finds the incident a Publish or Edit button names.
func (c *commsHandlers) publishIncident(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	id, _, _, err := comms.ParsePublishValue(v)
	if err != nil {
		return nil, err
	}
	return c.kit.incidents.Get(ctx, id)
}

// retryIncident finds the incident a Retry button names: "<id>|...".
func (c *commsHandlers) retryIncident(ctx context.Context, _ slack.InteractionCallback, v string) (*incident.Incident, error) {
	idText, _, _ := strings.Cut(v, "|")
	return c.kit.incidentFromValue(ctx, idText)
}

func (c *commsHandlers) actionPublish(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, kind, ref, err := comms.ParsePublishValue(a.Value)
	if err != nil {
		return err
	}
	// The button carries the text its proposal showed: that is what goes out.
	scheduled, err := c.statusPage.Publish(ctx, id, comms.PublishInput{Kind: kind, Ref: ref, Shown: comms.PublishShown(a.Value), Actor: cb.User.ID})
	if err != nil {
		return err
	}
	if !scheduled {
		return incident.Errorf(incident.ECONFLICT, "That post is already on the status page or on its way there.")
	}
	return nil
}

// maxStatusPageInput is the most a plain-text input holds (Slack's
// max_length for it).
const maxStatusPageInput = 3000

// StatusPageModal lets a publisher edit a post before it goes out. A draft
// longer than the box is cut there, and the box's hint says so.
func StatusPageModal(inc *incident.Incident, kind, ref, draft string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plain("What customers read"), blockStatusPageBody)
	input.Multiline, input.MaxLength, input.InitialValue = true, maxStatusPageInput, clip(draft, maxStatusPageInput)
	hint := "Customers see this on the status page; keep internal details out."
	if n := utf8.RuneCountInString(draft); n > maxStatusPageInput {
		hint = fmt.Sprintf("The draft has %d characters and this box holds %d, so its end is cut here: read the end before you publish. ", n, maxStatusPageInput) + hint
	}
	block := slack.NewInputBlock(blockStatusPageBody, plain("Public message"), plain(hint), input)
	meta, _ := json.Marshal(statusPageMeta{IncidentID: inc.ID, Kind: kind, Ref: ref})
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: ViewStatusPage, Title: plain(clip("Status page · "+inc.Key(), 24)),
		Submit: plain("Publish"), Close: plain("Cancel"), PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{block}}}
}

func (c *commsHandlers) actionEditPublic(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, kind, ref, err := comms.ParsePublishValue(a.Value)
	if err != nil {
		return err
	}
	inc, err := c.kit.incidents.Get(ctx, id)
	if err != nil {
		return err
	}
	return c.openStatusPageForm(ctx, inc, kind, ref, comms.PublishShown(a.Value), cb.TriggerID, cb.User.ID)
}

// openStatusPageForm opens the edit form of a post for user, once the
// post could be published by them: nobody writes a public message to be
// told no on submit. The form starts from what the button's proposal
// showed (shown, as its value carries it: the text, or the fingerprint of
// a failed post's words too long for it), else from the draft as it reads
// now.
func (c *commsHandlers) openStatusPageForm(ctx context.Context, inc *incident.Incident, kind, ref, shown, triggerID, user string) error {
	if err := c.statusPage.CheckPublish(ctx, inc.ID, comms.PublishInput{Kind: kind, Ref: ref, Actor: user}); err != nil {
		return err
	}
	draft, err := c.statusPage.EditText(ctx, inc.ID, kind, ref, shown)
	if err != nil {
		return err
	}
	return c.kit.openModal(ctx, triggerID, user, StatusPageModal(inc, kind, ref, draft))
}

func (c *commsHandlers) submitStatusPage(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	var m statusPageMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &m); err != nil || m.IncidentID == 0 {
		return nil, incident.Errorf(incident.EINVALID, "The form lost track of its incident; open it again.")
	}
	body := strings.TrimSpace(stateValue(cb, blockStatusPageBody).Value)
	if body == "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockStatusPageBody: "Write what customers should read."}), nil
	}
	scheduled, err := c.statusPage.Publish(ctx, m.IncidentID, comms.PublishInput{Kind: m.Kind, Ref: m.Ref, Body: body, Actor: cb.User.ID})
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

func (c *commsHandlers) actionDecline(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := c.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	_, err = c.comms.Decline(ctx, inc.ID, cb.User.ID)
	return err
}

func (c *commsHandlers) actionRetryPublic(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	return c.statusPage.RetryStatusPage(ctx, a.Value, cb.User.ID)
}

func (c *commsHandlers) actionCustomerEmail(sent bool) ActionHandler {
	return func(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
		inc, err := c.kit.incidentFromValue(ctx, a.Value)
		if err != nil {
			return err
		}
		_, err = c.comms.CustomerEmail(ctx, inc.ID, sent, cb.User.ID)
		return err
	}
}

// statuspageCommand is "/incident statuspage [text]": publish the first
// post (or an update, once public) now, with the draft or the given text.
func (c *commsHandlers) statuspageCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := c.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	kind, ref := incident.PostAcknowledge, ""
	if inc.PublicID != "" {
		// Each command, and the form it opens, is its own post; a
		// retried delivery of the same command carries the same trigger
		// id and posts once.
		kind, ref = incident.PostUpdate, "cmd-"+inv.Cmd.TriggerID
		if inv.Cmd.TriggerID == "" {
			ref = "cmd-" + strconv.FormatInt(c.kit.clock.Now().UnixNano(), 10)
		}
	}
	if inv.Args == "" && inv.Cmd.TriggerID != "" {
		return Reply{}, c.openStatusPageForm(ctx, inc, kind, ref, "", inv.Cmd.TriggerID, inv.Cmd.UserID)
	}
	scheduled, err := c.statusPage.Publish(ctx, inc.ID, comms.PublishInput{Kind: kind, Ref: ref, Body: inv.Args, Actor: inv.Cmd.UserID})
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
func (c *commsHandlers) dataConcernCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := c.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if _, err := c.comms.FlagDataConcern(ctx, inc.ID, inv.Cmd.UserID); err != nil {
		return Reply{}, err
	}
	return ephemeral("%s is flagged for a data concern; the customer e-mail draft follows in the channel.", inc.Key()), nil
}

// commsCommand is "/incident comms": the four drafts, ready to copy.
func (c *commsHandlers) commsCommand(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := c.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	drafts, err := c.comms.Comms(ctx, inc.ID)
	if err != nil {
		return Reply{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Comms drafts for %s* — copy, edit, send.\n", inc.Key())
	blocks := []slack.Block{slack.NewHeaderBlock(plain(clip("Comms drafts · "+inc.Key(), 150)))}
	for _, d := range drafts {
		// The drafts quote what responders typed: shown as written.
		title, text := Escape(d.Title), Escape(strings.TrimSpace(d.Text))
		fmt.Fprintf(&b, "\n*%s*\n```%s```\n", title, text)
		// A draft longer than a section is shown whole over several,
		// each a code block to copy.
		blocks = append(blocks, textSections("*"+clipEscaped(title, 90)+"*\n```"+text+"```", max(maxMessageBlocks-len(blocks), 1), maxMessageText)...)
	}
	return Reply{ResponseType: slack.ResponseTypeEphemeral, Text: clipEscaped(b.String(), 3000), Blocks: blocks}, nil
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
