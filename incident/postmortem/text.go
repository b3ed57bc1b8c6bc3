package postmortem

import (
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// plainText turns Slack's message markup into plain text
// (incident.PlainText).
func plainText(s string, name func(id string) string) string { return incident.PlainText(s, name) }

// mentionSpan is a user mention in captured text: its bytes [start, end)
// and the user id.
type mentionSpan struct {
	start, end int
	id         string
}

// userMentions finds the user mentions (<@U123>, <@U123|alice>) in text
// as captured from the chat, in order.
func userMentions(text string) []mentionSpan {
	var out []mentionSpan
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '<')
		if j < 0 {
			break
		}
		start := i + j
		end := strings.IndexByte(text[start:], '>')
		if end < 0 {
			break
		}
		if target, ok := strings.CutPrefix(text[start+1:start+end], "@"); ok {
			id, _, _ := strings.Cut(target, "|")
			out = append(out, mentionSpan{start: start, end: start + end + 1, id: id})
			i = start + end + 1
			continue
		}
		i = start + 1
	}
	return out
}

// stripLeadingEmoji drops the emoji shortcodes the bot starts its lines
// with (":rotating_light: Severity raised ..."), which read as noise in a
// document.
func stripLeadingEmoji(s string) string {
	for {
		t := strings.TrimLeft(s, " ")
		if len(t) < 3 || t[0] != ':' {
			return t
		}
		end := strings.IndexByte(t[1:], ':')
		if end <= 0 || !shortcode(t[1:1+end]) {
			return t
		}
		s = t[end+2:]
	}
}

func shortcode(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z') && !(ch >= '0' && ch <= '9') && ch != '_' && ch != '-' && ch != '+' {
			return false
		}
	}
	return true
}

// oneLine joins the lines of s with spaces, for table cells and sentences.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return strings.TrimSpace(s)
	}
	return strings.Join(strings.Fields(s), " ")
}

// X escapes s for Confluence storage format (XHTML): the five XML special
// characters become entities and characters XML forbids are dropped, so
// any user text keeps the page well-formed. Templates call it as
// {{$.X .Text}}.
func (Draft) X(s string) string {
	return escapeXML(s)
}

// MD makes s safe inside a Markdown table cell or list item: it joins lines
// and escapes the characters that would break a table ("|") or start HTML
// ("<"). Templates call it as {{$.MD .Text}}.
func (Draft) MD(s string) string {
	s = oneLine(s)
	if !strings.ContainsAny(s, "|<") {
		return s
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "<", "&lt;")
}

func escapeXML(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			if xmlChar(r) {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// xmlChar reports whether XML 1.0 allows r in a document.
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
