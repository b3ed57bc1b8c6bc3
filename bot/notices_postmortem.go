package bot

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
)

// DefaultCommand is the slash command when none is configured.
const DefaultCommand = "/incident"

const (
	// maxDraftSummary keeps the postmortem summary inside one Block Kit
	// section (3000 characters, escapes included), with room to spare.
	maxDraftSummary = 2900
	// maxDraftPart keeps each piece of the Markdown draft under Slack's
	// 40,000-character limit on a message's text; draftPartOverhead is
	// the header and the code fences around it.
	maxDraftPart      = 38000
	draftPartOverhead = 120
)

// postmortemWordings word the postmortem's notices, naming the slash
// command as configured.
var postmortemWordings = map[incident.NoticeKind]wordFunc{
	incident.NoticePostmortemDraft:        postmortemDraftText,
	incident.NoticePostmortemFact:         unworded,
	incident.NoticePostmortemReviewNote:   unworded,
	incident.NoticePostmortemPart:         postmortemPartText,
	incident.NoticePostmortemExported:     postmortemExportedText,
	incident.NoticePostmortemExportFailed: postmortemExportFailedText,
}

// unworded says the facts of a notice that is only ever worded as part of
// another (the draft's facts and review notes).
func unworded(n incident.Notice, w wording) string { return unknownNoticeText(n, w.esc) }

// valueInt reads a count from a notice's values, 0 when unset.
func valueInt(n incident.Notice, k string) int {
	i, _ := strconv.Atoi(n.Values[k])
	return i
}

// Saying that the draft's summary was cut: the summary paragraph alone, or,
// when the rest does not fit either, the notice from there on.
const (
	summaryCutNote = " _(cut; the full draft follows below)_"
	draftCutNote   = "\n_…cut; the full draft follows below._"
	// minSummaryKept is the least of the summary paragraph worth keeping
	// before cutting the rest of the notice instead.
	minSummaryKept = 200
)

// postmortemDraftText words the draft's summary notice within one section
// (maxDraftSummary), counted as Slack counts it: escaped, so a summary
// full of & < > takes up to five times its length. What does not fit is
// cut where it cannot break an entity or markup, and the cut is said: the
// summary paragraph first, keeping the metrics, facts and review notes
// under it; the notice's end only when they do not fit either.
func postmortemDraftText(n incident.Notice, w wording) string {
	var head strings.Builder
	fmt.Fprintf(&head, ":memo: *Postmortem draft for %s: %s*\n", n.Incident, w.esc(n.Values["title"]))
	if n.Values["replaces"] == "true" {
		head.WriteString("_This draft replaces the earlier one above, which was only partly posted._\n")
	}
	summary, rest := w.esc(n.Values["summary"]), draftDetails(n, w)
	whole := head.String() + summary + rest
	if utf8.RuneCountInString(whole) <= maxDraftSummary {
		return whole
	}
	room := maxDraftSummary - utf8.RuneCountInString(head.String()+rest) - utf8.RuneCountInString(summaryCutNote)
	if room >= minSummaryKept {
		return head.String() + splitMrkdwn(summary, room)[0] + summaryCutNote + rest
	}
	summary = splitMrkdwn(summary, minSummaryKept)[0] + summaryCutNote
	return splitMrkdwn(head.String()+summary+rest, maxDraftSummary-utf8.RuneCountInString(draftCutNote))[0] + draftCutNote
}

// draftDetails is the summary notice under its summary paragraph: the
// metrics, the timeline, the facts, the action items and review notes.
func draftDetails(n incident.Notice, w wording) string {
	v, num := n.Values, func(k string) int { return valueInt(n, k) }
	var b strings.Builder
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "*Key metrics:* %s\n", w.esc(v["metrics"]))
	fmt.Fprintf(&b, "*Timeline (UTC):* %s", w.esc(v["timeline"]))
	if m := v["missing"]; m != "" {
		fmt.Fprintf(&b, "; not recorded: %s", w.esc(m))
	}
	fmt.Fprintf(&b, ". %d key %s.\n", num("key_events"), plural(num("key_events"), "event", "events"))
	draftFacts(&b, n, w)
	fmt.Fprintf(&b, "*Action items:* %d", num("action_items"))
	if num("no_owner") > 0 || num("no_due") > 0 {
		fmt.Fprintf(&b, " (%d without an owner, %d without a due date)", num("no_owner"), num("no_due"))
	}
	b.WriteString(". Add more with `" + w.command + " followup`.\n")
	draftReviewNotes(&b, n, w)
	if v["backfill_failed"] == "true" {
		b.WriteString(":warning: The channel history could not be read, so messages sent while the bot was away may be missing.\n")
	}
	fmt.Fprintf(&b, "_The full draft in Markdown follows in %d %s._", num("parts"), plural(num("parts"), "message", "messages"))
	return b.String()
}

// draftItems are the draft's items of one kind.
func draftItems(n incident.Notice, kind incident.NoticeKind) []incident.Notice {
	var items []incident.Notice
	for _, it := range n.Items {
		if it.Kind == kind {
			items = append(items, it)
		}
	}
	return items
}

// draftFacts lists the root-cause facts the draft starts from, if any.
func draftFacts(b *strings.Builder, n incident.Notice, w wording) {
	facts := draftItems(n, incident.NoticePostmortemFact)
	if len(facts) == 0 {
		return
	}
	b.WriteString("*Root cause, facts to start from:*\n")
	for _, f := range facts {
		fmt.Fprintf(b, "• %s\n", w.esc(f.Values["text"]))
	}
	if more := valueInt(n, "more_facts"); more > 0 {
		fmt.Fprintf(b, "• …and %d more in the draft\n", more)
	}
}

// draftReviewNotes lists what the blameless check flagged, or says it
// flagged nothing.
func draftReviewNotes(b *strings.Builder, n incident.Notice, w wording) {
	flagged := valueInt(n, "review_notes")
	if flagged <= 0 {
		b.WriteString("*Review notes:* the blameless check found no names or blame language.\n")
		return
	}
	fmt.Fprintf(b, ":warning: *Review notes:* the blameless check flagged %d %s to revisit before sharing:\n", flagged, plural(flagged, "phrase", "phrases"))
	for _, f := range draftItems(n, incident.NoticePostmortemReviewNote) {
		fmt.Fprintf(b, "• %s: \"%s\"\n", w.esc(f.Values["section"]), w.esc(f.Values["phrase"]))
	}
	if more := valueInt(n, "more_notes"); more > 0 {
		fmt.Fprintf(b, "• …and %d more in the draft\n", more)
	}
}

func postmortemPartText(n incident.Notice, w wording) string {
	return fmt.Sprintf("*%s postmortem draft (Markdown), part %d of %d*\n```\n%s\n```", n.Incident, valueInt(n, "part"), valueInt(n, "parts"),
		w.esc(unfenced(n.Values["markdown"])))
}

func postmortemExportedText(n incident.Notice, w wording) string {
	v := n.Values
	text := fmt.Sprintf(":page_facing_up: %s %s the %s postmortem in %s: %s", slackUser(n.Actor), w.esc(v["verb"]), n.Incident, w.esc(v["target"]), w.esc(v["url"]))
	if ver := v["version"]; ver != "" {
		text += fmt.Sprintf(" (version %s)", w.esc(ver))
	}
	return text
}

func postmortemExportFailedText(n incident.Notice, w wording) string {
	text := fmt.Sprintf(":warning: *Exporting the %s postmortem to %s failed*: %s", n.Incident, w.esc(n.Values["target"]), w.esc(n.Values["error"]))
	if n.Values["retry"] == "final" {
		return text + " Fix the cause, then press Retry."
	}
	return text + " Retrying in the background."
}

// unfenced keeps Markdown's own code fences from closing the code block it
// is shown in.
func unfenced(md string) string { return strings.ReplaceAll(md, "```", "`\u200b``") }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// draftWidth is how many characters a rune of the draft may take once
// shown in a part: escaped, with its code fences broken.
func draftWidth(r rune) int {
	switch r {
	case '<', '>':
		return 4
	case '&':
		return 5
	case '`':
		return 2
	}
	return 1
}

// MarkdownParts cuts a Markdown postmortem draft into pieces that each fit
// one message once worded (NoticePostmortemPart), between lines, and a
// line longer than a message by characters. It is the postmortem
// service's Split.
func MarkdownParts(md string) []string {
	const budget = maxDraftPart - draftPartOverhead
	var chunks []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if curLen > 0 {
			chunks = append(chunks, strings.TrimRight(cur.String(), "\n"))
		}
		cur.Reset()
		curLen = 0
	}
	for _, line := range strings.SplitAfter(md, "\n") {
		n := 0
		for _, r := range line {
			n += draftWidth(r)
		}
		if n > budget {
			// A single line longer than a message: cut it by runes.
			flush()
			for line != "" {
				w, i := 0, 0
				for i < len(line) {
					r, size := utf8.DecodeRuneInString(line[i:])
					if w+draftWidth(r) > budget {
						break
					}
					w += draftWidth(r)
					i += size
				}
				cur.WriteString(line[:i])
				curLen = w
				line = line[i:]
				if line != "" {
					flush()
				}
			}
			continue
		}
		if curLen+n > budget {
			flush()
		}
		cur.WriteString(line)
		curLen += n
	}
	flush()
	if len(chunks) == 0 {
		chunks = []string{""}
	}
	return chunks
}
