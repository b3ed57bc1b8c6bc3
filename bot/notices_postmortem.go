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
	// section (3000 characters).
	maxDraftSummary = 2900
	// maxDraftPart keeps each piece of the Markdown draft under Slack's
	// 40,000-character limit on a message's text; draftPartOverhead is
	// the header and the code fences around it.
	maxDraftPart      = 38000
	draftPartOverhead = 120
)

// postmortemNoticeText words the postmortem's notices, naming the slash
// command as configured. ok is false for any other kind.
func postmortemNoticeText(n incident.Notice, esc func(string) string, command string) (text string, ok bool) {
	v := func(k string) string { return n.Values[k] }
	num := func(k string) int { i, _ := strconv.Atoi(v(k)); return i }
	switch n.Kind {
	case incident.NoticePostmortemDraft:
		var b strings.Builder
		fmt.Fprintf(&b, ":memo: *Postmortem draft for %s: %s*\n", n.Incident, esc(v("title")))
		b.WriteString(esc(v("summary")))
		b.WriteString("\n\n")
		fmt.Fprintf(&b, "*Key metrics:* %s\n", esc(v("metrics")))
		fmt.Fprintf(&b, "*Timeline (UTC):* %s", esc(v("timeline")))
		if m := v("missing"); m != "" {
			fmt.Fprintf(&b, "; not recorded: %s", esc(m))
		}
		fmt.Fprintf(&b, ". %d key %s.\n", num("key_events"), plural(num("key_events"), "event", "events"))
		var facts, notes []incident.Notice
		for _, it := range n.Items {
			switch it.Kind {
			case incident.NoticePostmortemFact:
				facts = append(facts, it)
			case incident.NoticePostmortemReviewNote:
				notes = append(notes, it)
			}
		}
		if len(facts) > 0 {
			b.WriteString("*Root cause, facts to start from:*\n")
			for _, f := range facts {
				fmt.Fprintf(&b, "• %s\n", esc(f.Values["text"]))
			}
			if more := num("more_facts"); more > 0 {
				fmt.Fprintf(&b, "• …and %d more in the draft\n", more)
			}
		}
		fmt.Fprintf(&b, "*Action items:* %d", num("action_items"))
		if num("no_owner") > 0 || num("no_due") > 0 {
			fmt.Fprintf(&b, " (%d without an owner, %d without a due date)", num("no_owner"), num("no_due"))
		}
		b.WriteString(". Add more with `" + command + " followup`.\n")
		if flagged := num("review_notes"); flagged > 0 {
			fmt.Fprintf(&b, ":warning: *Review notes:* the blameless check flagged %d %s to revisit before sharing:\n", flagged, plural(flagged, "phrase", "phrases"))
			for _, f := range notes {
				fmt.Fprintf(&b, "• %s: \"%s\"\n", esc(f.Values["section"]), esc(f.Values["phrase"]))
			}
			if more := num("more_notes"); more > 0 {
				fmt.Fprintf(&b, "• …and %d more in the draft\n", more)
			}
		} else {
			b.WriteString("*Review notes:* the blameless check found no names or blame language.\n")
		}
		if v("backfill_failed") == "true" {
			b.WriteString(":warning: The channel history could not be read, so messages sent while the bot was away may be missing.\n")
		}
		fmt.Fprintf(&b, "_The full draft in Markdown follows in %d %s._", num("parts"), plural(num("parts"), "message", "messages"))
		return clipRunes(b.String(), maxDraftSummary), true
	case incident.NoticePostmortemPart:
		return fmt.Sprintf("*%s postmortem draft (Markdown), part %d of %d*\n```\n%s\n```", n.Incident, num("part"), num("parts"),
			esc(unfenced(v("markdown")))), true
	case incident.NoticePostmortemExported:
		text := fmt.Sprintf(":page_facing_up: %s %s the %s postmortem in %s: %s", slackUser(n.Actor), esc(v("verb")), n.Incident, esc(v("target")), esc(v("url")))
		if ver := v("version"); ver != "" {
			text += fmt.Sprintf(" (version %s)", esc(ver))
		}
		return text, true
	case incident.NoticePostmortemExportFailed:
		text := fmt.Sprintf(":warning: *Exporting the %s postmortem to %s failed*: %s", n.Incident, esc(v("target")), esc(v("error")))
		if v("retry") == "final" {
			return text + " Fix the cause, then press Retry.", true
		}
		return text + " Retrying in the background.", true
	}
	return "", false
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
