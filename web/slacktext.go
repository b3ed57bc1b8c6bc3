package web

import (
	"html"
	"regexp"
	"strings"
)

// Timeline lines and updates are stored as Slack mrkdwn. The pages show
// them as plain text: mentions become names, links their labels, and emoji
// codes are dropped.
var (
	slackUser    = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|[^>]*)?>`)
	slackChannel = regexp.MustCompile(`<#C[A-Z0-9]+\|([^>]*)>`)
	slackLink    = regexp.MustCompile(`<(https?://[^|>]+)(?:\|([^>]+))?>`)
	slackSpecial = regexp.MustCompile(`<!(here|channel|everyone)(?:\|[^>]*)?>`)
	slackEmoji   = regexp.MustCompile(`:[a-z0-9_+\-]+:\s?`)
)

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
	text = slackChannel.ReplaceAllString(text, "#$1")
	text = slackLink.ReplaceAllStringFunc(text, func(m string) string {
		sub := slackLink.FindStringSubmatch(m)
		if sub[2] != "" {
			return sub[2]
		}
		return sub[1]
	})
	text = slackSpecial.ReplaceAllString(text, "@$1")
	text = slackEmoji.ReplaceAllString(text, "")
	text = strings.ReplaceAll(text, "\n>", "\n")
	return strings.TrimSpace(html.UnescapeString(text))
}
