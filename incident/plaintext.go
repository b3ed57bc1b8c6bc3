package incident

import "strings"

// PlainText turns the chat's message markup into plain text, for what
// leaves the chat (a postmortem, a public status page): a user mention
// <@U123> or <@U123|alice> becomes name(U123), a channel <#C1|general>
// becomes #general, <!here> becomes @here, a link <https://x|label>
// becomes "label (https://x)", and the &amp; &lt; &gt; escapes are undone.
// Anything else between < and > is not markup and stays as written: a
// command's text reaches the domain with what the person typed unescaped.
func PlainText(s string, name func(id string) string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	ScanMarkup(s, func(text string) { b.WriteString(UnescapeText(text)) },
		func(inner string) { b.WriteString(UnescapeText(markupToken(inner, name))) })
	return b.String()
}

// ScanMarkup walks s, text in the chat's message markup, in order: text
// is called with each run outside markup as stored (its entities kept) and
// token with the inside of each <…>. A < with another < before its > is a
// person's ("p99 < 300ms <@U1>"): markup can only start at the last one
// before the >, and an unclosed < is text.
func ScanMarkup(s string, text, token func(string)) {
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		if k := strings.LastIndexByte(s[i+1:i+j], '<'); k >= 0 {
			text(s[:i+1+k])
			s = s[i+1+k:]
			continue
		}
		if i > 0 {
			text(s[:i])
		}
		token(s[i+1 : i+j])
		s = s[i+j+1:]
	}
	if s != "" {
		text(s)
	}
}

// markupToken renders the inside of one <...> token.
func markupToken(tok string, name func(string) string) string {
	target, label, hasLabel := strings.Cut(tok, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		return name(target[1:])
	case strings.HasPrefix(target, "#"):
		if hasLabel && label != "" {
			return "#" + label
		}
		return target
	case strings.HasPrefix(target, "!"):
		if hasLabel && label != "" {
			return label
		}
		sub, _, _ := strings.Cut(target[1:], "^")
		return "@" + sub
	case !IsLink(target):
		return "<" + tok + ">"
	case hasLabel && label != "" && label != target:
		return label + " (" + strings.TrimPrefix(target, "mailto:") + ")"
	}
	return strings.TrimPrefix(target, "mailto:")
}

// EscapeText writes s as the chat's message markup holds a person's text:
// &, < and > as &amp; &lt; &gt;, so a name such as "R&D <draft>" reads as
// written and never as markup. It is PlainText's inverse for text without
// markup, for what the domain puts into captured text (ADR 0033).
func EscapeText(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return textEscaper.Replace(s)
}

var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// UnescapeText is EscapeText's inverse: &amp;, &lt; and &gt; become the
// characters they stand for, in one pass, so "&amp;lt;" (a person who typed
// "&lt;") reads back as "&lt;". Text Slack delivers (a command's words, a
// message) holds these three entities and no others.
func UnescapeText(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return textUnescaper.Replace(s)
}

var textUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// IsLink reports whether target is a link the chat marks up: an http,
// https or mailto address with no white space or control character
// ("<see https://x>" is a person's words; "<ftp://x>" and
// "<javascript:…>" are not links).
func IsLink(target string) bool {
	rest, ok := strings.CutPrefix(target, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(target, "http://")
	}
	if !ok {
		rest, ok = strings.CutPrefix(target, "mailto:")
	}
	if !ok || rest == "" {
		return false
	}
	return !strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// EndSentence returns s ending as a sentence does, for text that another
// sentence follows: a full stop is added when s ends without closing
// punctuation (. ! ? …, perhaps inside a closing quote or bracket, « »
// spaced as French writes it), in place of a trailing comma, semicolon or
// colon. Blank s is "".
func EndSentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	body := strings.TrimRight(s, "\"'’”)]» \u00a0\u202f")
	if strings.HasSuffix(body, ".") || strings.HasSuffix(body, "!") || strings.HasSuffix(body, "?") || strings.HasSuffix(body, "…") {
		return s
	}
	return strings.TrimRight(s, ",;: ") + "."
}
