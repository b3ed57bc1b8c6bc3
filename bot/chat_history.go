package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// chatHistory reads a channel back (incident.ChatHistory).
type chatHistory struct{ *slackConn }

// historyPage is the page size for conversations.history and .replies:
// Tier 3 allows up to 999; a smaller page keeps each call quick.
const historyPage = 200

// History reads a channel's messages since oldest, with every thread's
// replies, oldest first. It pages with cursors; rate limits are handled by
// the outbound client and, past its patience, by the job that called this,
// whose next attempt reads again only the threads this one did not reach
// (threadsRead).
func (c *chatHistory) History(ctx context.Context, channelID string, oldest time.Time) ([]incident.ChatMessage, error) {
	// The bot's own posts are already timeline events of their own kinds.
	self, err := c.botID(ctx)
	if err != nil {
		return nil, err
	}
	out, parents, err := c.channelMessages(ctx, channelID, oldest, self)
	if err != nil {
		return nil, err
	}
	for _, p := range parents {
		key := threadKey{conn: c.slackConn, channel: channelID, parent: p.ts, latest: p.latest, count: p.count}
		replies, ok := threadsRead.get(key, c.clock.Now())
		if !ok {
			if replies, err = c.threadReplies(ctx, channelID, p.ts, self); err != nil {
				return nil, err
			}
			threadsRead.put(key, replies, c.clock.Now())
		}
		out = append(out, replies...)
	}
	slices.SortStableFunc(out, func(a, b incident.ChatMessage) int { return compareTS(a.TS, b.TS) })
	return out, nil
}

// thread is a message with replies, as the channel's history shows it.
type thread struct {
	ts, latest string
	count      int
}

// channelMessages reads the channel's messages since oldest but the bot's
// own, and the threads among them.
func (c *chatHistory) channelMessages(ctx context.Context, channelID string, oldest time.Time, self string) (out []incident.ChatMessage, parents []thread, err error) {
	params := &slack.GetConversationHistoryParameters{ChannelID: channelID, Oldest: fmt.Sprintf("%d.000000", oldest.Unix()), Limit: historyPage, Inclusive: true}
	for {
		resp, err := c.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return nil, nil, classifyIn(ctx, "conversations.history", "read the channel history", err)
		}
		for _, m := range resp.Messages {
			if m.ReplyCount > 0 {
				parents = append(parents, thread{ts: m.Timestamp, latest: m.LatestReply, count: m.ReplyCount})
			}
			if m.User != self {
				out = append(out, chatMessage(m))
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			return out, parents, nil
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
}

// threadReplies reads the replies to the message ts but the bot's own.
func (c *chatHistory) threadReplies(ctx context.Context, channelID, ts, self string) ([]incident.ChatMessage, error) {
	var out []incident.ChatMessage
	rp := &slack.GetConversationRepliesParameters{ChannelID: channelID, Timestamp: ts, Limit: historyPage}
	for {
		msgs, hasMore, cursor, err := c.api.GetConversationRepliesContext(ctx, rp)
		if err != nil {
			return nil, classifyIn(ctx, "conversations.replies", "read a thread", err)
		}
		for _, m := range msgs {
			if m.Timestamp == ts || m.User == self {
				continue // the parent, already read; or the bot itself
			}
			out = append(out, chatMessage(m))
		}
		if !hasMore || cursor == "" {
			return out, nil
		}
		rp.Cursor = cursor
	}
}

// chatMessage is a message of the history as the domain reads it. The
// subtype goes with it, so capture tells a person's words from the
// channel's system messages (joins, topic changes, pins ...) by the rule
// it applies live, the last edit's ts, so a late edit event older than
// what was read back changes nothing, and the files it shares, as live.
func chatMessage(m slack.Message) incident.ChatMessage {
	cm := incident.ChatMessage{TS: m.Timestamp, ThreadTS: m.ThreadTimestamp, User: m.User, Text: m.Text, Subtype: m.SubType,
		Edited: m.Edited != nil}
	if m.Edited != nil {
		cm.EditedTS = m.Edited.Timestamp
	}
	if m.BotID != "" {
		// Another app's message, as a classic bot_message or from its
		// bot user: captured and attributed to the app.
		switch {
		case m.BotProfile != nil && m.BotProfile.Name != "":
			cm.App = m.BotProfile.Name
		case m.Username != "":
			cm.App = m.Username
		default:
			cm.App = m.BotID
		}
	}
	if cm.ThreadTS == cm.TS {
		cm.ThreadTS = ""
	}
	for _, r := range m.Reactions {
		cm.Reactions = append(cm.Reactions, r.Name)
	}
	cm.Pinned = len(m.PinnedTo) > 0
	for _, f := range m.Files {
		cm.Files = append(cm.Files, sharedFile(f.Title, f.Name, f.Mode))
	}
	return cm
}

// compareTS orders Slack timestamps ("1700000000.000100") numerically.
func compareTS(a, b string) int {
	fa, _ := strconv.ParseFloat(a, 64)
	fb, _ := strconv.ParseFloat(b, 64)
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return strings.Compare(a, b)
}

// A history read takes one conversations.replies call per thread, and a
// busy channel has more threads than Slack's limit on the method allows in
// a minute (Tier 3, about 50). Slack's 429 fails the read, and the job
// calling History tries again later: were every attempt to read every
// thread again, it would be stopped at the same thread each time and never
// finish. The replies of each thread read are kept a while instead, so the
// next attempt reads only the threads the last one did not reach.
//
// A thread's replies are kept under its parent's reply_count and
// latest_reply as the history showed them: a reply added or deleted since
// changes them, and the thread is read again. An edit does not, and the
// text kept may be older than an edit the live events recorded, which the
// timeline keeps (it orders edits by their edited.ts).
const (
	// threadsTTL is how long a thread's replies are kept.
	threadsTTL = 15 * time.Minute
	// maxThreadsKept bounds the threads kept across channels.
	maxThreadsKept = 5000
)

// threadKey names a thread read: on which connection, where, and in what
// state.
type threadKey struct {
	conn                    *slackConn
	channel, parent, latest string
	count                   int
}

type threadRead struct {
	replies []incident.ChatMessage
	at      time.Time
}

// threadCache keeps the replies of threads read, for threadsTTL.
type threadCache struct {
	mu sync.Mutex
	m  map[threadKey]threadRead
}

// threadsRead is the threads every Chat of the process has read, each
// under its own connection.
var threadsRead threadCache

func (c *threadCache) get(k threadKey, now time.Time) ([]incident.ChatMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[k]
	if !ok || now.Sub(r.at) >= threadsTTL || now.Before(r.at) {
		return nil, false
	}
	return r.replies, true
}

func (c *threadCache) put(k threadKey, replies []incident.ChatMessage, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[threadKey]threadRead{}
	}
	if len(c.m) >= maxThreadsKept {
		for key, r := range c.m {
			if now.Sub(r.at) >= threadsTTL || now.Before(r.at) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= maxThreadsKept {
			return // the next attempt reads this thread again
		}
	}
	c.m[k] = threadRead{replies: slices.Clone(replies), at: now}
}
