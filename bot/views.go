package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// Modal callback ids.
const (
	ViewDeclare  = "declare"
	ViewRoles    = "roles"
	ViewSeverity = "severity"
)

// Block and action ids of the declare modal; an error on submit is keyed by
// the block id of the input at fault.
const (
	blockTitle       = "title"
	blockSeverity    = "severity"
	blockCommander   = "commander"
	blockService     = "service"
	blockDescription = "description"
	blockPage        = "page"
	blockPrivate     = "private"
)

// Lengths the forms let a person type (max_length); a submission over one
// is answered on its field.
const (
	maxDescriptionInput = 3000
	maxSummaryInput     = 3000
	maxNotesInput       = 2000
	maxUpdateInput      = 1400
)

// overLength returns an error for each of the blocks' text inputs that is
// longer than limits says the form allows. Slack's client stops a person
// typing more, so only an altered submission is; it is answered on the
// field rather than taken or refused as a whole.
func overLength(cb slack.InteractionCallback, limits map[string]int) map[string]string {
	errs := map[string]string{}
	for block, n := range limits {
		if c := utf8.RuneCountInString(strings.TrimSpace(stateValue(cb, block).Value)); c > n {
			errs[block] = fmt.Sprintf("Keep this within %d characters; it has %d.", n, c)
		}
	}
	return errs
}

// modalMeta round-trips through a modal's private_metadata (3000 chars).
type modalMeta struct {
	ChannelID  string `json:"c,omitempty"`
	IncidentID int64  `json:"i,omitempty"`
	// Drill declares a practice incident.
	Drill bool `json:"d,omitempty"`
	// Source is the message a shortcut declares from.
	Source *incident.SourceMessage `json:"s,omitempty"`
	// Holders is, on the roles form, who held each role the form shows
	// when it opened, in the form's order (the IC first; trailing
	// vacancies left out): what Slack submits again for every field the
	// person did not touch. RoleSet is the digest of the roles the form
	// shows (rolesDigest), so that positions are read against the same
	// roles.
	Holders []string `json:"h,omitempty"`
	RoleSet string   `json:"r,omitempty"`
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// clipWords is clip, cutting at a space when there is one in the second
// half of what is kept.
func clipWords(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	if i := lastRune(r, ' '); i > len(r)/2 {
		r = r[:i]
	}
	return strings.TrimRight(string(r), " \n") + "…"
}

func severityOption(sp incident.SeverityPolicy) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(sp.Severity.String(),
		plain(clip(fmt.Sprintf("%s · %s", sp.Severity, sp.Label), 75)),
		plain(clip(sp.Meaning, 75)))
}

func severityOptions(p incident.Policy) []*slack.OptionBlockObject {
	opts := make([]*slack.OptionBlockObject, 0, 4)
	for _, s := range incident.Severities {
		opts = append(opts, severityOption(p.Severity(s)))
	}
	return opts
}

// DeclareModal builds the declare modal, pre-filled with what the command said.
func DeclareModal(p incident.Policy, declarer, channelID string, d declareArgs) slack.ModalViewRequest {
	title := slack.NewPlainTextInputBlockElement(plain("checkout is down"), blockTitle)
	// Never more than the box lets the person submit.
	title.InitialValue = clipWords(d.title, incident.MaxTitleLength)
	title.MaxLength = incident.MaxTitleLength

	sev := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose a severity"), blockSeverity, severityOptions(p)...)
	if d.severity.Valid() {
		sev.InitialOption = severityOption(p.Severity(d.severity))
	}
	ic := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Incident Commander"), blockCommander)
	ic.InitialUser = declarer

	desc := slack.NewPlainTextInputBlockElement(plain("What is happening, who is affected"), blockDescription)
	desc.Multiline = true
	desc.MaxLength = maxDescriptionInput
	desc.InitialValue = d.description

	private := slack.NewCheckboxGroupsBlockElement(blockPrivate,
		slack.NewOptionBlockObject("private", plain("Private channel (security incident)"), nil))
	if d.private {
		private.InitialOptions = private.Options
	}

	blocks := []slack.Block{
		slack.NewInputBlock(blockTitle, plain("Title"), nil, title),
		slack.NewInputBlock(blockSeverity, plain("Severity"), nil, sev),
		slack.NewInputBlock(blockCommander, plain("Incident Commander"), nil, ic),
	}
	if in := serviceInput(p, d.service); in != nil {
		blocks = append(blocks, in)
	}
	for _, b := range []*slack.InputBlock{
		slack.NewInputBlock(blockDescription, plain("Description"), nil, desc),
		slack.NewInputBlock(blockPage, plain("Page on-call"), nil, pageChoices(p)),
		slack.NewInputBlock(blockPrivate, plain("Visibility"), nil, private),
	} {
		b.Optional = true
		blocks = append(blocks, b)
	}
	meta, _ := json.Marshal(modalMeta{ChannelID: channelID, Drill: d.drill})
	heading := "Declare an incident"
	if d.drill {
		heading = "Declare a DRILL"
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      ViewDeclare,
		Title:           plain(heading),
		Submit:          plain("Declare"),
		Close:           plain("Cancel"),
		Blocks:          slack.Blocks{BlockSet: blocks},
		PrivateMetadata: string(meta),
	}
}

// pageChoices asks whether to page on-call: as the severity says (the
// default, which the policy spells out), now, or not.
func pageChoices(p incident.Policy) *slack.RadioButtonsBlockElement {
	var paging []string
	for _, s := range incident.Severities {
		switch p.Severity(s).Paging {
		case incident.PageOnCallAndBackup:
			paging = append(paging, s.String()+": on-call and backup")
		case incident.PageOnCall:
			paging = append(paging, s.String()+": on-call")
		}
	}
	says := strings.Join(paging, "; ")
	if says == "" {
		// An option's description must not be empty.
		says = "No severity pages on-call"
	}
	auto := slack.NewOptionBlockObject("auto", plain("As the severity says"), plain(clip(says, maxOptionText)))
	page := slack.NewRadioButtonsBlockElement(blockPage, auto,
		slack.NewOptionBlockObject("yes", plain("Page on-call now"), nil),
		slack.NewOptionBlockObject("no", plain("Do not page"), nil))
	page.InitialOption = auto
	return page
}

// Limits of a static select (platform-facts 1.8; Slack's option object):
// at most 100 options, or 100 groups of 100; an option's value at most 150
// characters and its text and a group's label at most 75.
const (
	maxSelectOptions = 100
	maxOptionValue   = 150
	maxOptionText    = 75
)

// serviceInput picks the affected service among the policy's, with
// selected chosen; nil when the policy names none. Past 100 services the
// select groups them, 100 to a group, so every service stays choosable.
func serviceInput(p incident.Policy, selected string) *slack.InputBlock {
	keys := p.ServiceKeys()
	if len(keys) == 0 {
		return nil
	}
	keys = keys[:min(len(keys), maxSelectOptions*maxSelectOptions)]
	opts := make([]*slack.OptionBlockObject, 0, len(keys))
	var initial *slack.OptionBlockObject
	for _, k := range keys {
		name := strings.TrimSpace(p.Services[k].Name)
		if name == "" {
			name = k
		}
		o := slack.NewOptionBlockObject(serviceOptionValue(k), plain(clip(name, maxOptionText)), nil)
		if k == selected {
			initial = o
		}
		opts = append(opts, o)
	}
	var svc *slack.SelectBlockElement
	if len(opts) <= maxSelectOptions {
		svc = slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Affected service"), blockService, opts...)
	} else {
		var groups []*slack.OptionGroupBlockObject
		for start := 0; start < len(opts); start += maxSelectOptions {
			end := min(start+maxSelectOptions, len(opts))
			label := fmt.Sprintf("Services %d–%d", start+1, end)
			groups = append(groups, slack.NewOptionGroupBlockElement(plain(label), opts[start:end]...))
		}
		svc = slack.NewOptionsGroupSelectBlockElement(slack.OptTypeStatic, plain("Affected service"), blockService, groups...)
	}
	svc.InitialOption = initial
	in := slack.NewInputBlock(blockService, plain("Affected service"), nil, svc)
	in.Optional = true
	return in
}

// serviceOptionValue is the value of a service's option: its key, or for a
// key longer than an option's value may be, a digest of it that
// serviceFromOption maps back.
func serviceOptionValue(key string) string {
	if utf8.RuneCountInString(key) <= maxOptionValue {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// serviceFromOption is the key of the service whose option has value v.
func serviceFromOption(p incident.Policy, v string) (string, bool) {
	if _, ok := p.Services[v]; ok {
		return v, true
	}
	if strings.HasPrefix(v, "sha256:") {
		for k := range p.Services {
			if serviceOptionValue(k) == v {
				return k, true
			}
		}
	}
	return "", false
}

// mayDeclare refuses, before the declare form opens, someone the policy
// does not let declare (permissions.declare, a guest), saying who can:
// nobody fills in a form to be told no.
func (l *lifecycleHandlers) mayDeclare(ctx context.Context, user string) error {
	d, err := l.kit.incidents.Authorize(ctx, incident.Request{Subject: incident.Subject{User: user}, Action: incident.ActDeclare})
	if err != nil {
		return err
	}
	return d.Err()
}

func (l *lifecycleHandlers) openDeclareModal(ctx context.Context, triggerID, user, channel string, d declareArgs) error {
	if err := l.mayDeclare(ctx, user); err != nil {
		return err
	}
	if triggerID == "" {
		return incident.Errorf(incident.EINVALID, "Say the severity and a title, such as `declare P1 checkout is down`.")
	}
	ctx, cancel := context.WithTimeout(ctx, viewsTimeout)
	defer cancel()
	if _, err := l.kit.slack.OpenViewContext(ctx, triggerID, l.kit.seals.seal(DeclareModal(l.kit.policy(), user, channel, d), user)); err != nil {
		l.kit.log.WarnContext(ctx, "could not open the declare modal", "err", err)
		return formNotOpened(err, "the declare form", fmt.Sprintf("declare directly instead: `%s declare P1 checkout is down`", l.kit.command))
	}
	return nil
}

// permalink builds a message's link from the workspace domain, without a
// Slack call on the 3-second path.
func permalink(domain, channelID, ts string) string {
	if domain == "" || channelID == "" || ts == "" {
		return ""
	}
	return fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", domain, channelID, strings.ReplaceAll(ts, ".", ""))
}

// shortcutDeclareFromMessage opens the declare modal with the message as
// the description; the declared incident's timeline links the message.
func (l *lifecycleHandlers) shortcutDeclareFromMessage(ctx context.Context, cb slack.InteractionCallback) error {
	// The message as people read it: Slack's markup and entities would
	// otherwise be kept, and shown, as typed characters.
	text := strings.TrimSpace((&namer{}).plain(ctx, cb.Message.Text))
	firstLine, _, _ := strings.Cut(text, "\n")
	d := declareArgs{title: clipWords(strings.Join(strings.Fields(firstLine), " "), 80), description: clipWords(text, maxDescriptionInput)}
	ts := cb.Message.Timestamp
	if ts == "" {
		ts = cb.MessageTs
	}
	src := &incident.SourceMessage{ChannelID: cb.Channel.ID, TS: ts, Author: cb.Message.User,
		Permalink: permalink(cb.Team.Domain, cb.Channel.ID, ts)}
	if err := l.mayDeclare(ctx, cb.User.ID); err != nil {
		return err
	}
	if cb.TriggerID == "" {
		return incident.Errorf(incident.EINVALID, "Slack sent no trigger to open the declare form.")
	}
	ctx, cancel := context.WithTimeout(ctx, viewsTimeout)
	defer cancel()
	view := DeclareModal(l.kit.policy(), cb.User.ID, cb.Channel.ID, d)
	meta, _ := json.Marshal(modalMeta{ChannelID: cb.Channel.ID, Source: src})
	view.PrivateMetadata = string(meta)
	if _, err := l.kit.slack.OpenViewContext(ctx, cb.TriggerID, l.kit.seals.seal(view, cb.User.ID)); err != nil {
		l.kit.log.WarnContext(ctx, "could not open the declare modal from a message", "err", err)
		return formNotOpened(err, "the declare form", fmt.Sprintf("declare with `%s declare P1 <title>` instead", l.kit.command))
	}
	return nil
}

// stateValue reads one input of a submitted view.
func stateValue(cb slack.InteractionCallback, block string) slack.BlockAction {
	if cb.View.State == nil {
		return slack.BlockAction{}
	}
	return cb.View.State.Values[block][block]
}

// submitDeclare validates the declare modal; errors go back on the field at
// fault and nothing is created. The view id is the idempotency key, so a
// double-clicked submit declares once.
func (l *lifecycleHandlers) submitDeclare(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	p := l.kit.policy()
	errs := overLength(cb, map[string]int{blockDescription: maxDescriptionInput})
	title := strings.TrimSpace(stateValue(cb, blockTitle).Value)
	sev, err := incident.ParseSeverity(stateValue(cb, blockSeverity).SelectedOption.Value)
	if err != nil {
		errs[blockSeverity] = "Choose a severity."
	}
	switch {
	case title == "":
		errs[blockTitle] = "Give the incident a title."
	case utf8.RuneCountInString(title) > incident.MaxTitleLength:
		errs[blockTitle] = fmt.Sprintf("Keep the title within %d characters.", incident.MaxTitleLength)
	}
	service := stateValue(cb, blockService).SelectedOption.Value
	if service != "" {
		key, ok := serviceFromOption(p, service)
		if !ok {
			errs[blockService] = "Unknown service."
		}
		service = key
	}
	if len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}
	var meta modalMeta
	_ = json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta)
	private := len(stateValue(cb, blockPrivate).SelectedOptions) > 0
	in := incident.DeclareInput{
		Title: title, Severity: sev, ServiceKey: service, Private: private,
		Description: stateValue(cb, blockDescription).Value,
		Commander:   stateValue(cb, blockCommander).SelectedUser,
		DeclaredBy:  cb.User.ID,
		Page:        pageChoice(stateValue(cb, blockPage).SelectedOption.Value),
		Key:         "view:" + cb.View.ID,
		ReplyTo:     incident.ReplyTarget{ChannelID: meta.ChannelID, UserID: cb.User.ID},
		Drill:       meta.Drill,
		Source:      meta.Source,
	}
	if err := in.Validate(p); err != nil {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockTitle: userMessage(err)}), nil
	}
	if _, _, err := l.kit.incidents.Declare(ctx, in); err != nil {
		// Naming someone else as IC is refused on the field, so the
		// person can pick again without retyping the form; any other
		// refusal (a declare the policy no longer allows) goes on the
		// form's first field, the title, as for every form (tellUser).
		// The people the refusal names are mentions here and names on
		// the field (namer.plainFieldErrors).
		var r *incident.Refusal
		if errors.As(err, &r) && r.Action == incident.ActNameIC {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{blockCommander: userMessage(err)}), nil
		}
		return nil, err
	}
	return nil, nil
}

func pageChoice(v string) *bool {
	switch v {
	case "yes":
		t := true
		return &t
	case "no":
		f := false
		return &f
	}
	return nil
}

// maxModalBlocks is how many blocks a modal holds.
const maxModalBlocks = 100

// RolesModal lets the IC hand out every role at once. Each role is labelled
// as the panel names it; roles past what a modal holds are said to be left
// out, to be assigned with the role command. Who holds each role as the
// form opens is kept in its (sealed) private_metadata: Slack submits every
// field, the untouched ones with what the form showed, and only the fields
// the person changed are applied (submitRoles).
func RolesModal(p incident.Policy, inc *incident.Incident) slack.ModalViewRequest {
	blocks := []slack.Block{}
	roles, left := formRoles(p)
	holders := make([]string, len(roles))
	for i, role := range roles {
		label := "Incident Commander"
		if role != incident.RoleCommander {
			label = clip(policyRoleLabel(role)+" lead", 2000)
		}
		id := roleBlockID(role)
		holders[i] = roleHolder(inc, role)
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Choose someone"), id)
		sel.InitialUser = holders[i]
		in := slack.NewInputBlock(id, plain(label), nil, sel)
		in.Optional = true
		blocks = append(blocks, in)
	}
	if left > 0 {
		command := p.Command
		if command == "" {
			command = DefaultCommand
		}
		blocks = append(blocks, slack.NewContextBlock("", mrkdwnText(fmt.Sprintf("%d more roles than this form holds: assign them with `%s role &lt;role&gt; @someone`.", left, Escape(command)))))
	}
	for len(holders) > 0 && holders[len(holders)-1] == "" {
		holders = holders[:len(holders)-1]
	}
	meta, _ := json.Marshal(modalMeta{IncidentID: inc.ID, Holders: holders, RoleSet: rolesDigest(roles)})
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: ViewRoles, Title: plain(clip("Roles · "+inc.Key(), 24)),
		Submit: plain("Save"), Close: plain("Cancel"), Blocks: slack.Blocks{BlockSet: blocks}, PrivateMetadata: string(meta)}
}

// formRoles is the roles the roles form shows, the IC first, and how many
// of the policy's it leaves out: a modal holds 100 blocks, one of which
// then says so.
func formRoles(p incident.Policy) (roles []string, left int) {
	roles = p.Roles
	if len(roles) > maxModalBlocks-1 {
		roles = roles[:maxModalBlocks-2]
	}
	return append([]string{incident.RoleCommander}, roles...), len(p.Roles) - len(roles)
}

// rolesDigest names a list of roles in a few characters.
func rolesDigest(roles []string) string {
	h := sha256.New()
	for _, r := range roles {
		h.Write([]byte(strconv.Itoa(len(r)) + ":" + r))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// roleHolder is who holds role in inc, "" for nobody.
func roleHolder(inc *incident.Incident, role string) string {
	if role == incident.RoleCommander {
		return inc.Commander
	}
	return inc.Roles[role]
}

// roleBlockID is the block and action id of a role's input: the role, or
// for a role longer than an id may be (255), a digest of it.
func roleBlockID(role string) string {
	if utf8.RuneCountInString(role) <= 255 {
		return role
	}
	sum := sha256.Sum256([]byte(role))
	return "role:" + hex.EncodeToString(sum[:])
}

// SeverityModal changes the severity.
func SeverityModal(p incident.Policy, inc *incident.Incident) slack.ModalViewRequest {
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose a severity"), blockSeverity, severityOptions(p)...)
	sel.InitialOption = severityOption(p.Severity(inc.Severity))
	meta, _ := json.Marshal(modalMeta{IncidentID: inc.ID})
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: ViewSeverity, Title: plain(clip("Severity · "+inc.Key(), 24)),
		Submit: plain("Change"), Close: plain("Cancel"),
		Blocks:          slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock(blockSeverity, plain("Severity"), nil, sel)}},
		PrivateMetadata: string(meta)}
}

func metaIncident(cb slack.InteractionCallback) (int64, error) {
	var meta modalMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.IncidentID == 0 {
		return 0, incident.Errorf(incident.EINVALID, "The form does not name an incident.")
	}
	return meta.IncidentID, nil
}

// submitRoles applies the fields of the roles form the person changed
// from what it showed when it opened (modalMeta.Holders); a field left as
// it was changes nothing, so a form left open does not put back a holder
// someone replaced since. A field changed where the role's holder changed
// too since the form opened is answered on that field, naming who holds it
// now, and nothing is applied.
func (l *lifecycleHandlers) submitRoles(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	var meta modalMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.IncidentID == 0 {
		return nil, incident.Errorf(incident.EINVALID, "The form does not name an incident.")
	}
	roles, _ := formRoles(l.kit.policy())
	if meta.RoleSet != rolesDigest(roles) {
		// Opened by an older version of the bot, or under other roles:
		// what it showed cannot be told apart from what was chosen.
		return slack.NewErrorsViewSubmissionResponse(map[string]string{roleBlockID(incident.RoleCommander): "This form is out of date (the bot's roles changed since it opened); close it and open it again."}), nil
	}
	inc, err := l.kit.incidents.Get(ctx, meta.IncidentID)
	if err != nil {
		return nil, err
	}
	type change struct{ role, user, shown string }
	var changes []change
	conflicts := map[string]string{}
	for i, role := range roles {
		user := stateValue(cb, roleBlockID(role)).SelectedUser
		shown := ""
		if i < len(meta.Holders) {
			shown = meta.Holders[i]
		}
		now := roleHolder(inc, role)
		if user == "" || user == shown || user == now {
			continue
		}
		if now != shown {
			conflicts[roleBlockID(role)] = roleChangedMessage(now)
			continue
		}
		changes = append(changes, change{role, user, shown})
	}
	if len(conflicts) > 0 {
		return slack.NewErrorsViewSubmissionResponse(conflicts), nil
	}
	// The IC role is given first when the person takes it, which lets
	// them give the rest, and last when they hand it to someone else,
	// which they may do only while they lead: handing over and naming the
	// other leads in one form does both.
	if len(changes) > 0 && changes[0].role == incident.RoleCommander && changes[0].user != cb.User.ID {
		changes = append(changes[1:], changes[0])
	}
	for _, c := range changes {
		// Compared again in the change's own transaction: someone may
		// give the role to another person between the read above and it.
		if _, err := l.kit.incidents.AssignRole(ctx, inc.ID, c.role, c.user, cb.User.ID, incident.IfHeldBy(c.shown)); err != nil {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{roleBlockID(c.role): userMessage(err)}), nil
		}
	}
	return nil, nil
}

// roleChangedMessage answers a field of the roles form whose role changed
// hands since the form opened: now holds it (nobody, when "").
func roleChangedMessage(now string) string {
	if now == "" {
		return "Nobody holds this role any more: it changed since you opened this form. Close it and open it again to name someone."
	}
	return userMessage(incident.Errorf(incident.ECONFLICT, "%s holds this role now: it changed since you opened this form. Close it and open it again to change it.", incident.User(now)))
}

func (l *lifecycleHandlers) submitSeverity(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error) {
	id, err := metaIncident(cb)
	if err != nil {
		return nil, err
	}
	sev, err := incident.ParseSeverity(stateValue(cb, blockSeverity).SelectedOption.Value)
	if err != nil {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockSeverity: "Choose a severity."}), nil
	}
	// Refused (the IC role changed hands since the form opened), in
	// conflict or invalid: said under the severity, the form's only field,
	// the form open, as for every form (tellUser).
	_, err = l.kit.incidents.SetSeverity(ctx, id, sev, cb.User.ID)
	return nil, err
}

// Button handlers of the control panel.

func (l *lifecycleHandlers) actionClaimIC(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := l.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	_, err = l.kit.incidents.AssignRole(ctx, inc.ID, incident.RoleCommander, cb.User.ID, cb.User.ID)
	if text, blocks, ok := takeoverPrompt(inc, err); ok {
		l.kit.replyToClick(ctx, cb, text, blocks)
		return nil
	}
	return err
}

// actionConfirmTakeIC takes the IC role over after the person confirmed
// it; only a click in the incident's own channel counts, so the takeover
// is said where everyone working the incident sees it.
func (l *lifecycleHandlers) actionConfirmTakeIC(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := l.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	if cb.Channel.ID != inc.ChannelID {
		return incident.Errorf(incident.EFORBIDDEN, "Confirm taking over as Incident Commander in %s's own channel.", inc.Key())
	}
	_, err = l.kit.incidents.ConfirmTakeIC(ctx, inc.ID, cb.User.ID)
	return err
}

// takeoverPrompt turns a refusal that a confirmation can lift into a
// message with the button that confirms.
func takeoverPrompt(inc *incident.Incident, err error) (string, []slack.Block, bool) {
	var r *incident.Refusal
	if !errors.As(err, &r) || !r.Confirm {
		return "", nil, false
	}
	text := userMrkdwn(err) + " Taking over is said in the channel and kept on the timeline."
	btn := slack.NewButtonBlockElement(ActionConfirmTakeIC, strconv.FormatInt(inc.ID, 10), plain("Take over as IC"))
	btn = btn.WithStyle(slack.StyleDanger).WithConfirm(slack.NewConfirmationBlockObject(
		plain("Take over as IC?"), mrkdwnText("You become the Incident Commander of "+inc.Key()+" in place of "+slackUserRef(inc.Commander)+", without their handover."),
		plain("Take over"), plain("Cancel")))
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwnText(clipRunes(text, maxTextObject)), nil, nil),
		slack.NewActionBlock("takeover", btn),
	}
	return text, blocks, true
}

func (l *lifecycleHandlers) actionRoles(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := l.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	if err := l.kit.mayOpen(ctx, cb.User.ID, inc, incident.ActAssignRole); err != nil {
		return err
	}
	return l.kit.openModal(ctx, cb.TriggerID, cb.User.ID, RolesModal(l.kit.policy(), inc))
}

func (l *lifecycleHandlers) actionSeverity(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	inc, err := l.kit.incidentFromValue(ctx, a.Value)
	if err != nil {
		return err
	}
	if err := l.kit.mayOpen(ctx, cb.User.ID, inc, incident.ActChangeSeverity); err != nil {
		return err
	}
	return l.kit.openModal(ctx, cb.TriggerID, cb.User.ID, SeverityModal(l.kit.policy(), inc))
}

func (l *lifecycleHandlers) actionResolve(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) error {
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil {
		return incident.Errorf(incident.EINVALID, "The button does not name an incident.")
	}
	inc, err := l.kit.incidents.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := l.kit.mayOpen(ctx, cb.User.ID, inc, incident.ActSetStatus); err != nil {
		return err
	}
	// The checklist is the confirmation the practice asks for: monitors
	// green, error rate at baseline, a smoke test by someone not in the fix.
	return l.kit.openModal(ctx, cb.TriggerID, cb.User.ID, ResolveModal(l.kit.policy(), inc))
}
