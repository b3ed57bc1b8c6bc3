package bot

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// Escape makes user text safe to put in a Slack message's text, a mrkdwn
// block or a channel topic: &, < and > become &amp;, &lt; and &gt;, so
// "<!channel>", "<@U123>" and "<https://evil|click>" show literally and
// notify nobody. It is the one escaping function of the transport; every
// piece of user text passes through it once where it is rendered.
//
// An entity Slack itself produced (&amp;, &lt; or &gt;) is kept as it is,
// so text escaped once is never escaped again: "p99 &gt; 2s" stays
// "p99 &gt; 2s" and shows as "p99 > 2s". Escape(Escape(s)) == Escape(s).
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			rest := s[i:]
			if strings.HasPrefix(rest, "&amp;") || strings.HasPrefix(rest, "&lt;") || strings.HasPrefix(rest, "&gt;") {
				b.WriteByte('&')
			} else {
				b.WriteString("&amp;")
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// clipEscaped is clipRunes for escaped text: a cut never leaves half an
// entity ("&am…"), which Slack would show as typed.
func clipEscaped(s string, n int) string {
	c := clipRunes(s, n)
	if c == s || n <= 1 {
		return c
	}
	kept := strings.TrimSuffix(c, "…")
	if i := strings.LastIndexByte(kept, '&'); i >= 0 && !strings.Contains(kept[i:], ";") {
		kept = kept[:i]
	}
	return kept + "…"
}

// slackMarkup renders text stored in Slack's message markup (update words,
// ADR 0033 and 0056) for a message the bot posts: people, channels and
// links show as Slack shows them, and nothing else the markup can do is
// done again by the bot. A user mention <@U…> and a channel <#C…|name>
// stay markup; a link <https://…|label> stays a link, its label escaped.
// A broadcast or a group ping (<!here>, <!channel>, <!everyone>,
// <!subteam^…>) becomes plain words ("@here", "@oncall"): the person's
// ping notified when they sent it, and the bot, which repeats the words in
// the channel and mirrors them to the broadcast channel, pings nobody
// again. Slack no longer turns a bare "@here" in an app's text into a
// ping. A date shows its fallback text; any other <…> is shown as written.
//
// Text outside markup is escaped with Escape, which keeps Slack's own
// entities: stored words show as written, and so do words stored as typed
// before the rule, such as "p99 < 300ms & rising".
func slackMarkup(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	incident.ScanMarkup(s, func(text string) { b.WriteString(Escape(text)) },
		func(inner string) { b.WriteString(markupToken(inner)) })
	return b.String()
}

// markupToken renders the inside of one <…> of stored markup for
// slackMarkup.
func markupToken(inner string) string {
	target, label, labelled := strings.Cut(inner, "|")
	labelled = labelled && strings.TrimSpace(label) != ""
	switch {
	case strings.HasPrefix(target, "@") && isSlackID(target[1:], "UW"):
		// Slack shows the person's current name, whatever the label.
		return "<" + target + ">"
	case strings.HasPrefix(target, "#") && isSlackID(target[1:], "CG"):
		if labelled {
			return "<" + target + "|" + Escape(label) + ">"
		}
		return "<" + target + ">"
	case strings.HasPrefix(target, "!"):
		return Escape(pingWords(target[1:], label, labelled, inner))
	case incident.IsLink(target):
		if labelled {
			return "<" + Escape(target) + "|" + Escape(label) + ">"
		}
		return "<" + Escape(target) + ">"
	}
	return Escape("<" + inner + ">")
}

// pingWords says a special mention (<!here>, <!subteam^S1|@oncall>,
// <!date^…|fallback>) in plain words, which ping nobody.
func pingWords(command, label string, labelled bool, inner string) string {
	name, arg, _ := strings.Cut(command, "^")
	switch name {
	case "here", "channel", "everyone", "group":
		return "@" + name
	case "subteam":
		if labelled {
			return "@" + strings.TrimPrefix(label, "@")
		}
		if arg != "" {
			return "@" + arg
		}
		return "@subteam"
	case "date":
		if labelled {
			return label
		}
	}
	// Unknown to this version: shown as written.
	return "<" + inner + ">"
}

// slackGroup mentions a user group.
func slackGroup(id string) string { return "<!subteam^" + id + ">" }

// RefusalText words a refusal for Slack, naming who can by mention.
func RefusalText(r *incident.Refusal) string {
	return r.Text(slackUser, slackGroup)
}

// userMessage is the sentence a person sees for err: a refusal in Slack's
// words, any other domain error's message naming people by mention, or a
// plain sentence.
func userMessage(err error) string {
	return messageNaming(err, slackUser, slackGroup)
}

// messageNaming is err's sentence naming people with user and user groups
// with group.
func messageNaming(err error, user, group func(id string) string) string {
	var r *incident.Refusal
	if errors.As(err, &r) {
		return r.Text(user, group)
	}
	var e *incident.Error
	if errors.As(err, &e) {
		return e.Text(user)
	}
	return incident.ErrorMessage(err)
}

// userMrkdwn is userMessage for a message's mrkdwn: the sentence escaped
// once, so what the person typed that it repeats (an unknown severity, an
// option, a role) and a usage's <placeholder> show as written rather than
// as Slack markup, while the people and groups it names stay mentions.
func userMrkdwn(err error) string {
	var mentions []string
	hold := func(mention func(string) string) func(string) string {
		return func(id string) string {
			mentions = append(mentions, mention(id))
			return mentionMark + strconv.Itoa(len(mentions)-1) + mentionMark
		}
	}
	text := Escape(messageNaming(err, hold(slackUser), hold(slackGroup)))
	if strings.Count(text, mentionMark) != 2*len(mentions) {
		// A mark came with what the person typed: no mention is made.
		return strings.ReplaceAll(text, mentionMark, "")
	}
	// Between two marks stands the index of a mention.
	parts := strings.Split(text, mentionMark)
	for i := 1; i < len(parts); i += 2 {
		n, _ := strconv.Atoi(parts[i])
		parts[i] = mentions[n]
	}
	return strings.Join(parts, "")
}

// mentionMark brackets where userMrkdwn puts a mention back after escaping.
const mentionMark = "\x00"

// Link renders a mrkdwn link <url|label>, the label escaped. The URL must be
// an absolute http or https address; the characters that would end or split
// the link (<, >, |) and spaces or control characters are percent-encoded,
// so a URL from a webhook cannot inject markup or a second link. A URL that
// is not one gives the label alone.
func Link(rawURL, label string) string {
	label = Escape(label)
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return label
	}
	var b strings.Builder
	s := u.String()
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<' || c == '>' || c == '|' || c <= ' ' || c == 0x7f:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return "<" + b.String() + "|" + label + ">"
}
