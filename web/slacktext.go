package web

import (
	"html"
	"regexp"
	"strings"
	"unicode"
)

// Timeline lines and updates are stored as Slack mrkdwn. The pages show
// them as plain text: mentions become names, channels and user groups
// their names (or ids), links and dates their labels, and emoji codes are
// dropped.
var (
	slackUser    = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|[^>]*)?>`)
	slackChannel = regexp.MustCompile(`<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>`)
	slackLink    = regexp.MustCompile(`<((?:https?://|mailto:)[^|>]+)(?:\|([^>]+))?>`)
	slackSpecial = regexp.MustCompile(`<!(here|channel|everyone)(?:\|[^>]*)?>`)
	slackGroup   = regexp.MustCompile(`<!subteam\^([A-Z0-9]+)(?:\|@?([^>]*))?>`)
	slackDate    = regexp.MustCompile(`<!date\^[^|>]*\|([^>]*)>`)
	slackEmoji   = regexp.MustCompile(`:[a-z0-9_+\-]+:\s?`)
)

// dropEmoji removes emoji codes such as :tada: (and a space after one).
// A code stands apart from the words around it: "14:05:10", "1:2:1" or
// "arn:aws:iam::…" hold colons, not codes, so a candidate whose colon
// touches a letter or digit outside it is left as written. Codes may
// follow each other (":tada::rocket:").
func dropEmoji(text string) string {
	var b strings.Builder
	last := 0 // the end of the text kept or dropped so far
	for _, m := range slackEmoji.FindAllStringIndex(text, -1) {
		start, end := m[0], m[1]
		code := strings.TrimRightFunc(text[start:end], unicode.IsSpace)
		apart := (start == 0 || start == last && last > 0 && text[last-1] == ':' || !wordChar(text[start-1])) &&
			(start+len(code) == len(text) || text[start+len(code)] == ':' || !wordChar(text[start+len(code)]))
		if !apart {
			continue
		}
		b.WriteString(text[last:start])
		last = end
	}
	b.WriteString(text[last:])
	return b.String()
}

// wordChar reports whether c is an ASCII letter or digit.
func wordChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// mentionedUsers returns the user ids mentioned in text.
func mentionedUsers(text string) []string {
	var out []string
	for _, m := range slackUser.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// plainSlack turns mrkdwn into plain text with names from names.
func plainSlack(text string, names map[string]string) string {
	text = slackUser.ReplaceAllStringFunc(text, func(m string) string {
		id := slackUser.FindStringSubmatch(m)[1]
		if n := names[id]; n != "" {
			return "@" + n
		}
		return "@" + id
	})
	// A channel, a user group: by the name the markup carries, else the id.
	labelled := func(re *regexp.Regexp, prefix string) func(string) string {
		return func(m string) string {
			sub := re.FindStringSubmatch(m)
			if sub[2] != "" {
				return prefix + sub[2]
			}
			return prefix + sub[1]
		}
	}
	text = slackChannel.ReplaceAllStringFunc(text, labelled(slackChannel, "#"))
	text = slackGroup.ReplaceAllStringFunc(text, labelled(slackGroup, "@"))
	text = slackLink.ReplaceAllStringFunc(text, func(m string) string {
		sub := slackLink.FindStringSubmatch(m)
		if sub[2] != "" {
			return sub[2]
		}
		return strings.TrimPrefix(sub[1], "mailto:")
	})
	text = slackSpecial.ReplaceAllString(text, "@$1")
	text = slackDate.ReplaceAllString(text, "$1")
	text = dropEmoji(text)
	text = strings.ReplaceAll(text, "\n>", "\n")
	return strings.TrimSpace(html.UnescapeString(text))
}
