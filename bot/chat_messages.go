package bot

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// chatMessages says notices, lines, buttons and nags in channels and to
// people (incident.NoticePoster).
type chatMessages struct{ *slackConn }

// Post posts a line of mrkdwn text and returns its ts.
func (c *chatMessages) Post(ctx context.Context, channelID, text string) (string, error) {
	return c.toChannel(ctx, channelID, c.named, func(id string) (string, error) { return c.post(ctx, id, text) })
}

func (c *chatMessages) post(ctx context.Context, channelID, text string) (string, error) {
	text = clipMessage(text, maxMessageText)
	_, ts, _, err := c.postOnce(ctx, channelID, postKey(ctx, "line", channelID+"\n"+text), time.Time{}, slack.MsgOptionText(text, false))
	if err != nil {
		return "", classifyIn(ctx, "chat.postMessage", "post a message", err)
	}
	return ts, nil
}

// toChannel sends to the id resolve gives for channel (a name from the
// policy, or an id). A name's id is kept (channelID); when Slack says the
// channel it names is gone (archived, deleted), the id is forgotten and the
// message sent once more to the channel that has the name now, so a
// channel archived and replaced under its name does not fail every post to
// it for as long as the process runs.
func (c *slackConn) toChannel(ctx context.Context, channel string, resolve func(context.Context, string) (string, error),
	send func(id string) (string, error)) (string, error) {
	id, err := resolve(ctx, channel)
	if err != nil {
		return "", err
	}
	ts, err := send(id)
	switch slackCode(err) {
	case "channel_not_found", "is_archived":
	default:
		return ts, err
	}
	if id == strings.TrimSpace(channel) {
		return ts, err // an id, not a name: nothing to look up again
	}
	c.forgetChannel(channel, err)
	fresh, ferr := resolve(ctx, channel)
	if ferr != nil {
		return "", ferr
	}
	if fresh == id {
		return ts, err
	}
	return send(fresh)
}

// Reply answers privately: through the response URL when there is one, else
// as an ephemeral message in the channel, else in a direct message. Each
// way falls back to the next only when it certainly did not deliver the
// reply (undelivered) for a reason the next can avoid: an expired or used
// response URL, a rate limit, a connection refused before anything was
// sent, a channel the bot or the user is not in. A target with only a
// channel gets an ordinary message there.
//
// After an answer that leaves delivery open (a 5xx, a timeout, a dropped
// connection: Slack may have shown the reply before failing) the reply is
// not said again, another way or by a retried job: a response URL post is
// logged and Reply returns nil, and so is an ephemeral message in a job,
// since neither can be looked for afterwards. Outside a job, such an
// ephemeral message's error is returned for the caller to log.
func (c *chatMessages) Reply(ctx context.Context, to incident.ReplyTarget, text string) error {
	text = clipMessage(text, maxMessageText)
	if to.ResponseURL != "" {
		_, _, err := c.api.PostMessageContext(ctx, "", slack.MsgOptionText(text, false),
			slack.MsgOptionResponseURL(to.ResponseURL, slack.ResponseTypeEphemeral))
		if err == nil {
			return nil
		}
		err = redactURL(err)
		if !undelivered(err) {
			c.log.WarnContext(ctx, "a reply through response_url may not have been shown; not sent again", "user", to.UserID, "err", err)
			return nil
		}
		if to.UserID == "" || ctx.Err() != nil {
			return classifyIn(ctx, "response_url", "reply", err)
		}
		c.log.DebugContext(ctx, "response_url failed; replying another way", "user", to.UserID, "err", err)
	}
	switch {
	case to.ChannelID != "" && to.UserID != "":
		_, err := c.api.PostEphemeralContext(ctx, to.ChannelID, to.UserID, slack.MsgOptionText(text, false))
		switch slackCode(err) {
		case "not_in_channel", "channel_not_found", "user_not_in_channel", "is_archived":
			return c.directMessage(ctx, to.UserID, text)
		}
		if err != nil && incident.JobID(ctx) != 0 && !undelivered(err) {
			c.log.WarnContext(ctx, "an ephemeral reply may not have been shown; not sent again", "user", to.UserID, "channel", to.ChannelID, "err", err)
			return nil
		}
		return classifyIn(ctx, "chat.postEphemeral", "reply", err)
	case to.UserID != "":
		return c.directMessage(ctx, to.UserID, text)
	case to.ChannelID != "":
		_, err := c.Post(ctx, to.ChannelID, text)
		return err
	}
	return incident.Errorf(incident.EINVALID, "There is nobody to reply to.")
}

// undelivered reports whether a failed send certainly did not reach anyone:
// Slack refused it with an error of its own (expired_url, invalid_auth,
// channel_not_found ...), answered a 4xx other than 408 or a 429, or the
// request never left (the connection was refused, the name did not
// resolve). A 5xx, a timeout, a dropped connection or Slack's own
// internal_error leave it open: Slack may have acted before failing.
func undelivered(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var rl *slack.RateLimitedError
	var wait interface{ RetryAfter() time.Duration }
	if errors.As(err, &rl) || errors.As(err, &wait) {
		return true
	}
	if code := slackCode(err); code != "" {
		switch code {
		case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return false
		}
		return true
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return sc.Code >= 400 && sc.Code < 500 && sc.Code != http.StatusRequestTimeout
	}
	return notSent(err)
}

// notSent reports whether err shows the request never left: the dial
// failed (refused, unresolvable, timed out).
func notSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// redactURL hides the URL of a transport error: a response URL lets anyone
// who holds it post to the user, so it stays out of errors and logs.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: "(response_url)", Err: ue.Err}
	}
	return err
}

func (c *chatMessages) directMessage(ctx context.Context, userID, text string) error {
	ch, _, _, err := c.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userID}, ReturnIM: true})
	if err != nil {
		return classifyIn(ctx, "conversations.open", "open a direct message", err)
	}
	if ch == nil || ch.ID == "" {
		return incident.Errorf(incident.EINTERNAL, "Slack opened no direct message channel.")
	}
	if _, _, _, err := c.postOnce(ctx, ch.ID, postKey(ctx, "dm", ch.ID+"\n"+text), time.Time{}, slack.MsgOptionText(text, false)); err != nil {
		return classifyIn(ctx, "chat.postMessage", "send a direct message", err)
	}
	return nil
}

// ButtonBlocks renders a line of text with buttons under it.
func ButtonBlocks(text string, buttons []incident.Button) []slack.Block {
	blocks := textSections(text, maxMessageBlocks-1, maxBlocksText)
	var els []slack.BlockElement
	for _, b := range buttons {
		btn := slack.NewButtonBlockElement(b.Action, clipRunes(b.Value, 2000), slack.NewTextBlockObject(slack.PlainTextType, clipRunes(b.Text, maxButtonText), false, false))
		switch b.Style {
		case "primary":
			btn.Style = slack.StylePrimary
		case "danger":
			btn.Style = slack.StyleDanger
		}
		els = append(els, btn)
	}
	if len(els) > 0 {
		blocks = append(blocks, slack.NewActionBlock("", els...))
	}
	return blocks
}

// PostButtons posts a line of text with buttons under it.
func (c *chatMessages) PostButtons(ctx context.Context, channelID, text string, buttons []incident.Button) (string, error) {
	return c.toChannel(ctx, channelID, c.named, func(id string) (string, error) { return c.postButtons(ctx, id, text, buttons) })
}

func (c *chatMessages) postButtons(ctx context.Context, channelID, text string, buttons []incident.Button) (string, error) {
	_, ts, _, err := c.postOnce(ctx, channelID, postKey(ctx, "buttons", channelID+"\n"+text), time.Time{}, slack.MsgOptionText(clipMessage(text, maxMessageText), false),
		slack.MsgOptionBlocks(ButtonBlocks(text, buttons)...))
	if err != nil {
		return "", classifyIn(ctx, "chat.postMessage", "post a message", err)
	}
	return ts, nil
}

// Tell says a notice to one person, privately, as Reply does. In a job
// (incident.WithJobRun) it returns an error only when the notice certainly
// was not shown: a rate limit (the error carries Slack's RetryAfter), a
// refusal (4xx, an error code), a connection refused before anything was
// sent. After a 5xx or a timeout the notice may have been shown, and an
// ephemeral message cannot be found in history to check, so Tell logs it
// and returns nil: the job is not retried into a second copy.
func (c *chatMessages) Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error {
	return c.Reply(ctx, to, c.noticeText(n))
}

// Notify says a notice in a channel, with its buttons under it.
func (c *chatMessages) Notify(ctx context.Context, channelID string, n incident.Notice) (string, error) {
	if len(n.Buttons) > 0 {
		return c.PostButtons(ctx, channelID, c.noticeText(n), n.Buttons)
	}
	// Posted once per job run like any line, however often it is retried.
	text := c.noticeText(n)
	return c.toChannel(ctx, channelID, c.channelID, func(id string) (string, error) { return c.post(ctx, id, text) })
}

// UpdateNotice redraws a message the bot posted (a notice with its
// buttons) as the notice says now, unless this process last wrote exactly
// that to it.
func (c *chatMessages) UpdateNotice(ctx context.Context, channelID, ts string, n incident.Notice) error {
	id, err := c.named(ctx, channelID)
	if err != nil {
		return err
	}
	text := c.noticeText(n)
	msg := message{text: clipMessage(text, maxMessageText), blocks: ButtonBlocks(text, n.Buttons)}
	return classifyIn(ctx, "chat.update", "update a message", c.updateIfChanged(ctx, id, ts, msg))
}
