package slackfake

import (
	"strings"
	"unicode"
)

// Typed returns a slash command's text as Slack sends it when the command
// is configured with should_escape (the manifest's "Escape channels,
// users, and links sent to your app"), from what the person typed in the
// composer: &, < and > as &amp; &lt; &gt;; "@handle" of a user of the
// workspace as <@U…|handle>; "@here", "@channel" and "@everyone" as
// <!here>, <!channel> and <!everyone>; "@handle" of a user group as
// <!subteam^S…|@handle>; "#name" of a channel as <#C…|name>; and an
// http(s) address as <https://…>. A word that names nothing the workspace
// has stays as typed (escaped).
//
// A link with a label (<https://…|label>) comes from the composer's
// formatting, not from typing: send it as Slack would, in markup.
func (d *Driver) Typed(text string) string {
	s := d.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	start := true // at the start of the text or after white space
	for i := 0; i < len(text); {
		r := rune(text[i])
		if start {
			word := text[i:]
			if j := strings.IndexFunc(word, unicode.IsSpace); j >= 0 {
				word = word[:j]
			}
			if m, n := s.typedWordLocked(word); n > 0 {
				b.WriteString(m)
				i += n
				start = false
				continue
			}
		}
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(text[i])
		}
		start = r == ' ' || r == '\n' || r == '\t'
		i++
	}
	return b.String()
}

// typedWordLocked is the markup Slack makes of a word typed at the start of
// word (a mention, a channel or a link) and how many bytes of it it takes;
// n is 0 when the word is plain text.
func (s *world) typedWordLocked(word string) (markup string, n int) {
	if strings.HasPrefix(word, "http://") || strings.HasPrefix(word, "https://") {
		// Punctuation that ends a sentence is not part of the address.
		addr := strings.TrimRight(word, ".,;:!?)")
		if strings.ContainsAny(addr, "<>") || len(addr) <= len("https://") {
			return "", 0
		}
		return "<" + strings.ReplaceAll(addr, "&", "&amp;") + ">", len(addr)
	}
	if len(word) < 2 || (word[0] != '@' && word[0] != '#') {
		return "", 0
	}
	name := strings.TrimRightFunc(word[1:], func(r rune) bool { return strings.ContainsRune(".,;:!?)", r) })
	if name == "" {
		return "", 0
	}
	n = 1 + len(name)
	if word[0] == '#' {
		if ch := s.lookupChannel(name); ch != nil && !ch.IM {
			return "<#" + ch.ID + "|" + ch.Name + ">", n
		}
		return "", 0
	}
	switch name {
	case "here", "channel", "everyone":
		return "<!" + name + ">", n
	}
	for _, id := range s.userOrder {
		if u := s.users[id]; u.Name == name && !u.Deleted {
			return "<@" + u.ID + "|" + u.Name + ">", n
		}
	}
	for _, id := range s.groupOrder {
		if g := s.groups[id]; g.Handle == name {
			return "<!subteam^" + g.ID + "|@" + g.Handle + ">", n
		}
	}
	return "", 0
}
