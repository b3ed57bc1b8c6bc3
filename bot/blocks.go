package bot

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// Action ids of the control panel's buttons. Every button's value is the
// incident's id in decimal, so a click names its incident without a lookup
// by channel.
const (
	ActionClaimIC = "ic_claim"
	// ActionConfirmTakeIC confirms taking the IC role over from someone.
	ActionConfirmTakeIC  = "ic_takeover"
	ActionAssignRoles    = "roles_open"
	ActionPostUpdate     = "update_open"
	ActionChangeSeverity = "severity_open"
	ActionPage           = "page_oncall"
	ActionWhatChanged    = "what_changed"
	ActionResolve        = "resolve"
)

// PanelActionsBlockID is the block_id of the panel's row of buttons.
const PanelActionsBlockID = "incident_panel_actions"

// Block Kit limits the renderers respect (platform-facts 1.8). Lengths are
// in characters.
const (
	maxMessageBlocks  = 50
	maxSectionFields  = 10
	maxFieldText      = 2000
	maxTextObject     = 3000
	maxHeaderText     = 150
	maxButtonText     = 75
	maxConfirmTitle   = 100
	maxMessageText    = 40000
	maxRoleLabelRunes = 200
)

const unassignedText = "_unassigned_"

// PanelBlocks renders the incident's control panel: a header, the facts
// (severity, status, roles, declared time, service), the channel and
// response target, and the buttons that drive the incident. A resolved
// incident has no Resolve button and a closed one has no buttons at all.
//
// The panel says nothing that depends on when it is drawn (Slack's clients
// count the time since the declare themselves), so an incident that has
// not changed renders the same and its panel is never edited again.
func PanelBlocks(inc *incident.Incident, policy incident.Policy) []slack.Block {
	loc := policy.Location
	if loc == nil {
		loc = time.UTC
	}

	fields := []string{
		panelField("Severity", incidentSeverityText(inc, policy)),
		panelField("Status", incidentStatusText(inc)),
		panelField("Incident Commander", slackUserRef(inc.Commander)),
	}
	for _, role := range policy.Roles {
		fields = append(fields, panelField(policyRoleLabel(role), slackUserRef(inc.Roles[role])))
	}
	fields = append(fields, panelField("Declared", slackDateAgoToken(inc.DeclaredAt, loc)))
	if svc := incidentServiceName(inc, policy); svc != "" {
		fields = append(fields, panelField("Service", svc))
	}
	if f, ok := publicField(inc); ok {
		fields = append(fields, f)
	}

	header := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType,
		clipRunes(fmt.Sprintf("%s %s: %s", incidentStatusEmoji(inc.Status), inc.Key(), inc.Title), maxHeaderText), true, false))

	var tail []slack.Block
	if inc.Summary != "" && !inc.Status.Open() {
		tail = append(tail, slack.NewSectionBlock(mrkdwnText(clipRunes("*Summary*\n"+Escape(inc.Summary), maxTextObject)), nil, nil))
	}
	if ctx := panelContext(inc, policy); ctx != "" {
		tail = append(tail, slack.NewContextBlock("", mrkdwnText(clipRunes(ctx, maxTextObject))))
	}
	if inc.Status != incident.StatusClosed {
		tail = append(tail, panelActions(inc))
	}

	blocks := []slack.Block{header}
	budget := maxBlocksText - blocksText(header) - blocksText(tail...)
	blocks = append(blocks, fieldSections(fields, maxMessageBlocks-1-len(tail), budget)...)
	return append(blocks, tail...)
}

// AnnouncementBlocks renders the incident's message in the broadcast
// channel: one line that says what is burning, and the status, the IC, the
// channel to join and when it was declared. The bot edits it in place as the
// incident changes.
func AnnouncementBlocks(inc *incident.Incident, policy incident.Policy) []slack.Block {
	loc := policy.Location
	if loc == nil {
		loc = time.UTC
	}
	headline := fmt.Sprintf("%s *%s* (%s) %s", incidentStatusEmoji(inc.Status), inc.Key(), incidentSeverityText(inc, policy), Escape(inc.Title))
	channel := "_not created yet_"
	if inc.ChannelID != "" {
		channel = "<#" + inc.ChannelID + ">"
	}
	fields := []*slack.TextBlockObject{
		mrkdwnText(panelField("Status", incidentStatusText(inc))),
		mrkdwnText(panelField("Incident Commander", slackUserRef(inc.Commander))),
		mrkdwnText(panelField("Channel", channel)),
		mrkdwnText(panelField("Declared", slackDateToken(inc.DeclaredAt, loc))),
	}
	return []slack.Block{slack.NewSectionBlock(mrkdwnText(clipRunes(headline, maxTextObject)), fields, nil)}
}

// panelFallback is the plain text shown in notifications and by clients
// that cannot render blocks. It mentions nobody so that editing the panel
// never pings anyone.
func panelFallback(inc *incident.Incident, policy incident.Policy) string {
	return clipRunes(fmt.Sprintf("%s %s (%s): %s. Status: %s.", incidentStatusEmoji(inc.Status), inc.Key(),
		incidentSeverityText(inc, policy), Escape(inc.Title), incidentStatusText(inc)), maxMessageText)
}

func panelActions(inc *incident.Incident) slack.Block {
	value := strconv.FormatInt(inc.ID, 10)
	button := func(actionID, text string) *slack.ButtonBlockElement {
		return slack.NewButtonBlockElement(actionID, value,
			slack.NewTextBlockObject(slack.PlainTextType, clipRunes(text, maxButtonText), true, false))
	}
	elements := []slack.BlockElement{
		button(ActionClaimIC, "I'm the IC"),
		button(ActionAssignRoles, "Assign roles"),
		button(ActionPostUpdate, "Post update"),
		button(ActionChangeSeverity, "Change severity"),
		button(ActionPage, "Page on-call"),
		button(ActionWhatChanged, "What changed?"),
	}
	if inc.Status != incident.StatusResolved {
		confirm := slack.NewConfirmationBlockObject(
			slack.NewTextBlockObject(slack.PlainTextType, clipRunes("Resolve "+inc.Key()+"?", maxConfirmTitle), false, false),
			mrkdwnText(fmt.Sprintf("This marks *%s* resolved. It can be reopened if the problem comes back.", inc.Key())),
			slack.NewTextBlockObject(slack.PlainTextType, "Resolve", false, false),
			slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		).WithStyle(slack.StyleDanger)
		elements = append(elements, button(ActionResolve, "Resolve").WithStyle(slack.StyleDanger).WithConfirm(confirm))
	}
	return slack.NewActionBlock(PanelActionsBlockID, elements...)
}

// fieldSections packs fields into sections of at most ten, using no more
// than maxSections blocks and budget characters of text; fields that do
// not fit are summed up in a last field rather than breaking the message.
func fieldSections(fields []string, maxSections, budget int) []slack.Block {
	capacity := max(maxSections, 1) * maxSectionFields
	more := func(n int) string { return fmt.Sprintf("_…and %d more_", n) }
	// fits reports whether the first k fields, and one saying how many
	// are left out, fit in the sections and in the budget of text.
	fits := func(k int) bool {
		count, n := k, 0
		for _, f := range fields[:k] {
			n += utf8.RuneCountInString(f)
		}
		if k < len(fields) {
			count++
			n += utf8.RuneCountInString(more(len(fields) - k))
		}
		return count <= capacity && n <= budget
	}
	k := len(fields)
	for k > 0 && !fits(k) {
		k--
	}
	if k < len(fields) {
		fields = append(fields[:k:k], more(len(fields)-k))
	}
	var out []slack.Block
	for start := 0; start < len(fields); start += maxSectionFields {
		chunk := fields[start:min(start+maxSectionFields, len(fields))]
		objs := make([]*slack.TextBlockObject, len(chunk))
		for i, f := range chunk {
			objs[i] = mrkdwnText(f)
		}
		out = append(out, slack.NewSectionBlock(nil, objs, nil))
	}
	return out
}

// panelContext renders the channel and the severity's response target.
func panelContext(inc *incident.Incident, policy incident.Policy) string {
	var parts []string
	if inc.ChannelID != "" {
		parts = append(parts, "<#"+inc.ChannelID+">")
	}
	if inc.Status.Open() {
		if t := responseTargetText(policy.Severity(inc.Severity)); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " · ")
}

func responseTargetText(sp incident.SeverityPolicy) string {
	target := Escape(sp.TargetText)
	switch {
	case sp.RespondWithin > 0 && target == "":
		return "Respond within " + sp.RespondWithin.String()
	case sp.RespondWithin > 0:
		return "Respond within " + target
	case target != "":
		return "Response target: " + target
	}
	return ""
}

// panelField renders one section field: a bold label over its value, within the
// field limit whatever the policy file calls its roles.
func panelField(label, value string) string {
	return clipRunes("*"+clipRunes(Escape(label), maxRoleLabelRunes)+"*\n"+value, maxFieldText)
}

func mrkdwnText(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

func incidentSeverityText(inc *incident.Incident, policy incident.Policy) string {
	if label := policy.Severity(inc.Severity).Label; label != "" {
		return inc.Severity.String() + " · " + Escape(label)
	}
	return inc.Severity.String()
}

// incidentStatusText is the status label; once resolved it also says how long the
// incident lasted.
func incidentStatusText(inc *incident.Incident) string {
	switch {
	case inc.Status == incident.StatusResolved && inc.ResolvedAt != nil:
		return "Resolved after " + incident.Since(inc.DeclaredAt, *inc.ResolvedAt)
	case inc.Status == incident.StatusClosed && inc.ResolvedAt != nil:
		return "Closed · resolved after " + incident.Since(inc.DeclaredAt, *inc.ResolvedAt)
	}
	return inc.Status.Label()
}

func incidentStatusEmoji(s incident.Status) string {
	if s == incident.StatusResolved || s == incident.StatusClosed {
		return "✅"
	}
	return "🚨"
}

func incidentServiceName(inc *incident.Incident, policy incident.Policy) string {
	if inc.Service == "" {
		return ""
	}
	if svc, ok := policy.Services[inc.Service]; ok && svc.Name != "" {
		return Escape(svc.Name)
	}
	return Escape(inc.Service)
}

func slackUserRef(id string) string {
	if id == "" {
		return unassignedText
	}
	return "<@" + id + ">"
}

// policyRoleLabel turns a policy role key ("incident_scribe") into a label
// ("Incident scribe").
func policyRoleLabel(role string) string {
	label := strings.NewReplacer("_", " ", "-", " ").Replace(role)
	r, size := utf8.DecodeRuneInString(label)
	if r == utf8.RuneError {
		return label
	}
	return string(unicode.ToUpper(r)) + label[size:]
}

// slackDateToken renders t with Slack's date formatting, so every reader sees it
// in their own time zone; the fallback uses the policy's zone.
func slackDateToken(t time.Time, loc *time.Location) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.In(loc).Format("2006-01-02 15:04 MST"))
}

// slackDateAgoToken renders t as slackDateToken does followed by the time
// since t with Slack's {ago} token, which clients keep current, so the panel
// needs no edit to stay right. The fallback, for a client that cannot
// render the token, is the date alone: a time since counted when the
// message was written would be wrong a minute later, and would make every
// redraw differ from the last.
func slackDateAgoToken(t time.Time, loc *time.Location) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time} · {ago}|%s>", t.Unix(), t.In(loc).Format("2006-01-02 15:04 MST"))
}

// clipRunes shortens s to at most n characters, ending with "…" when cut.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// splitMrkdwn splits mrkdwn text into pieces of at most n characters, so
// text longer than one text object holds is shown whole over several. It
// cuts at a line break, else at a space, and never inside an entity
// (&amp;), a control sequence (<@U1>, <url|label>) or a run of backticks; a
// ``` code block or a >>> quote open at a cut is closed and opened again,
// so each piece renders as that part of the whole would.
func splitMrkdwn(text string, n int) []string {
	var out []string
	prefix, quoted, code := "", false, false
	for {
		piece := prefix + text
		if utf8.RuneCountInString(piece) <= n {
			return append(out, piece)
		}
		r := []rune(text)
		cut := mrkdwnCut(r, max(n-utf8.RuneCountInString(prefix)-len("```"), 1))
		head := strings.TrimRight(string(r[:cut]), " \n")
		text = strings.TrimLeft(string(r[cut:]), " \n")
		quoted = quoted || (!code && (strings.HasPrefix(head, ">>>") || strings.Contains(head, "\n>>>")))
		if strings.Count(head, "```")%2 == 1 {
			code = !code
		}
		piece = prefix + head
		if code {
			piece += "```"
		}
		out = append(out, piece)
		prefix = ""
		if quoted {
			prefix = ">>> "
		}
		if code {
			prefix += "```"
		}
	}
}

// mrkdwnCut is where to cut r to keep at most budget characters before it.
func mrkdwnCut(r []rune, budget int) int {
	cut := budget
	if i := lastRune(r[:budget+1], '\n'); i > budget/2 {
		cut = i + 1
	} else if i := lastRune(r[:budget+1], ' '); i > budget/2 {
		cut = i + 1
	}
	// Back out of a control sequence or an entity the cut would split.
	if lt := lastRune(r[:cut], '<'); lt > 0 && lt > lastRune(r[:cut], '>') {
		cut = lt
	}
	if amp := lastRune(r[:cut], '&'); amp > 0 && amp > lastRune(r[:cut], ';') && cut-amp <= len("&amp;") {
		cut = amp
	}
	for cut > 1 && r[cut-1] == '`' && r[cut] == '`' {
		cut--
	}
	return cut
}

func lastRune(r []rune, c rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == c {
			return i
		}
	}
	return -1
}

// maxBlocksText bounds the text of a message's blocks together: Slack
// refuses more with msg_blocks_too_long, a limit it does not document but
// has put at about 12,000 characters (slackapi/bolt-js#2509).
const maxBlocksText = 11000

// blocksText counts the characters of every "text" string in blocks, as
// Slack counts them toward maxBlocksText.
func blocksText(blocks ...slack.Block) int {
	raw, err := json.Marshal(blocks)
	if err != nil {
		return 0
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0
	}
	var count func(any) int
	count = func(v any) int {
		n := 0
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "text" {
					n += utf8.RuneCountInString(s)
				} else {
					n += count(e)
				}
			}
		case []any:
			for _, e := range x {
				n += count(e)
			}
		}
		return n
	}
	return count(v)
}

// textSections renders mrkdwn text as sections, as many as it needs up to
// limit blocks and budget characters in all; text past them is said to be
// left out.
func textSections(text string, limit, budget int) []slack.Block {
	const more = "_…the rest is too long to show here._"
	var out []slack.Block
	used := 0
	for _, p := range splitMrkdwn(text, maxTextObject) {
		n := utf8.RuneCountInString(p)
		if len(out) == limit-1 || used+n > budget-len(more) {
			if len(out) > 0 {
				out = append(out, slack.NewSectionBlock(mrkdwnText(more), nil, nil))
				break
			}
		}
		out = append(out, slack.NewSectionBlock(mrkdwnText(p), nil, nil))
		used += n
	}
	return out
}

// clipMessage shortens a message's mrkdwn text to at most n characters,
// cut as splitMrkdwn cuts (never inside markup), and says it was cut.
func clipMessage(text string, n int) string {
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	const note = "\n_…cut short: the rest is too long for one Slack message._"
	return splitMrkdwn(text, n-utf8.RuneCountInString(note))[0] + note
}
