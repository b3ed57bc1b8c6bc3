package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// postEventType is the message metadata event type of every message the bot
// posts with a key; the key is in its payload.
const postEventType = "firebreak_post"

// Bounds of the search for an earlier attempt's post (findPosted).
const (
	// historyScan is how many recent messages are searched when nothing
	// says since when the post may be there.
	historyScan = 200
	// findLimit bounds the messages read since the post could first have
	// been made: ten pages. A war room's history starts with the people
	// its setup invited (a channel_join each) and its topic, which can
	// push the panel past the newest few hundred messages.
	findLimit = 2000
	// clockSkew is the margin for Slack's clock, by which message ts are
	// given, running behind this process's.
	clockSkew = 2 * time.Minute
)

// writes remembers what the bot last wrote where, so that an unchanged
// topic or message is not written again, and which keyed posts may have
// landed although their call failed (a 5xx, a timeout).
type writes struct {
	mu        sync.Mutex
	topics    map[string]string // channel -> topic last set
	rendered  map[string]string // channel/ts -> hash of the content last written
	uncertain map[string]bool   // post keys whose outcome is unknown
	// editing serialises edits of one message, so two syncs rendering the
	// same state send it once.
	editing map[string]*sync.Mutex
}

// editLock returns the lock of one message's edits.
func (w *writes) editLock(k string) *sync.Mutex {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.editing[k]
	if !ok {
		l = &sync.Mutex{}
		w.editing[k] = l
	}
	return l
}

func (w *writes) init() {
	w.topics, w.rendered, w.uncertain = map[string]string{}, map[string]string{}, map[string]bool{}
	w.editing = map[string]*sync.Mutex{}
}

// postKey names a post so that a later attempt can find it: a stable key
// for things there is one of (the panel of an incident), else the job and
// the content, since a job's retry posts the same text again. Outside a job
// (an interactive reply) there is no key and no search.
//
// A retry says it seconds or minutes later, so the times it counts have
// moved on ("no update for 15m02s", then "15m07s": incident.Since; "12
// minutes left", then "11 minutes"): they are left out of the key, and the
// retry finds the copy its first attempt posted.
func postKey(ctx context.Context, kind, content string) string {
	id := incident.JobID(ctx)
	if id == 0 {
		return ""
	}
	sum := sha256.Sum256([]byte(elapsed.ReplaceAllLiteralString(content, "…")))
	return fmt.Sprintf("job:%d:%s:%s", id, kind, hex.EncodeToString(sum[:6]))
}

// elapsed matches a time counted to the moment of saying it, as
// incident.Since renders one ("12s", "4m12s", "1h05m", "2d3h") and as
// words count one ("12 minutes", "1 hour 5 minutes", "2 days"): a retry a
// minute later says "11 minutes left". A fixed duration in the text
// ("within 10 minutes") is left out too, which costs nothing: it is the
// same in every attempt.
var elapsed = regexp.MustCompile(`\b\d+(?:s|m\d{2}s|h\d{2}m|d\d{1,2}h)\b|\b\d+ (?:second|minute|hour|day)s?(?: \d+ (?:second|minute|hour|day)s?)*\b`)

// mayHaveLanded reports whether an earlier call for key may have posted
// although it did not report success: a retried job, or a failure in this
// process that was not Slack's clear refusal.
func (c *slackConn) mayHaveLanded(ctx context.Context, key string) bool {
	if attempt, _ := incident.JobAttempt(ctx); attempt > 1 {
		return true
	}
	c.writes.mu.Lock()
	defer c.writes.mu.Unlock()
	return c.writes.uncertain[key]
}

// postOnce posts a message carrying key in its metadata. When an earlier
// attempt may have posted it already, it looks for that message first and
// returns it instead (adopted reports so): a 500 after the post took effect
// never makes a second copy. since, when known, is the earliest the post
// can have been made (the incident's declare for its panel): the search
// reads every message from then on, where without it only the newest are.
func (c *slackConn) postOnce(ctx context.Context, channelID, key string, since time.Time, opts ...slack.MsgOption) (respChannel, ts string, adopted bool, err error) {
	if key == "" {
		respChannel, ts, err = c.api.PostMessageContext(ctx, channelID, opts...)
		return respChannel, ts, false, err
	}
	if c.mayHaveLanded(ctx, key) {
		found, ferr := c.findPosted(ctx, channelID, key, since)
		if slackCode(ferr) == "not_in_channel" && c.joined(ctx, channelID) {
			// A public channel the bot posts to without being in it
			// (chat:write.public: the broadcast channel, a team's
			// channel): joined, it reads the channel's history.
			found, ferr = c.findPosted(ctx, channelID, key, since)
		}
		switch code := slackCode(ferr); {
		case ferr == nil:
		case unreadable(code):
			// The bot may post where it cannot read: a public channel it
			// could not join (an install without channels:join), a
			// direct message without im:history. The earlier copy cannot
			// be looked for; post once more rather than never.
			c.log.WarnContext(ctx, "cannot look for an earlier copy of a message; posting it again",
				"channel", channelID, "reason", code)
		default:
			return "", "", false, classifyIn(ctx, "conversations.history", "check for an earlier copy of the message", ferr)
		}
		if found != "" {
			c.settle(key)
			return channelID, found, true, nil
		}
	}
	opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{
		EventType: postEventType, EventPayload: map[string]any{"key": key},
	}))
	respChannel, ts, err = c.api.PostMessageContext(ctx, channelID, opts...)
	if err != nil {
		if slackCode(err) == "" {
			// No answer from Slack about this post: it may exist.
			c.writes.mu.Lock()
			c.writes.uncertain[key] = true
			c.writes.mu.Unlock()
		}
		return "", "", false, err
	}
	c.settle(key)
	return respChannel, ts, false, nil
}

// joined joins a public channel the bot is not in, so that it can read the
// channel's history, and reports whether it is in it now. A private
// channel cannot be joined (the bot is invited to those it posts in), nor
// an archived one; an install without channels:join cannot join at all.
func (c *slackConn) joined(ctx context.Context, channelID string) bool {
	_, _, _, err := c.api.JoinConversationContext(ctx, channelID)
	if err != nil {
		c.log.WarnContext(ctx, "could not join the channel to look for an earlier copy of a message",
			"channel", channelID, "err", classifyIn(ctx, "conversations.join", "join the channel", err))
		return false
	}
	c.log.InfoContext(ctx, "joined a channel the bot posts to, to read its history", "channel", channelID)
	return true
}

// unreadable reports whether a conversations.history error code says the
// bot cannot read the channel at all, rather than that the lookup failed.
func unreadable(code string) bool {
	switch code {
	case "not_in_channel", "missing_scope", "channel_not_found":
		return true
	}
	return false
}

func (c *slackConn) settle(key string) {
	c.writes.mu.Lock()
	delete(c.writes.uncertain, key)
	c.writes.mu.Unlock()
}

// findPosted returns the ts of the bot's message in channelID whose
// metadata carries key, or "". With since, it reads the channel's history
// from then (less clockSkew) to the newest message, up to findLimit
// messages; without, the historyScan newest.
func (c *slackConn) findPosted(ctx context.Context, channelID, key string, since time.Time) (string, error) {
	params := &slack.GetConversationHistoryParameters{ChannelID: channelID, Limit: historyPage, IncludeAllMetadata: true}
	limit := historyScan
	if !since.IsZero() {
		params.Oldest, params.Inclusive = fmt.Sprintf("%d.000000", since.Add(-clockSkew).Unix()), true
		limit = findLimit
	}
	seen := 0
	for {
		resp, err := c.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return "", err
		}
		for _, m := range resp.Messages {
			if m.Metadata.EventType == postEventType && m.Metadata.EventPayload["key"] == key {
				return m.Timestamp, nil
			}
		}
		seen += len(resp.Messages)
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			return "", nil
		}
		if seen >= limit {
			if since.IsZero() {
				return "", nil
			}
			c.log.WarnContext(ctx, "stopped looking for an earlier copy of a message; posting it again",
				"channel", channelID, "key", key, "messages_read", seen)
			return "", nil
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
}

// message is the content of a message the bot keeps current.
type message struct {
	text   string
	blocks []slack.Block
}

func (m message) options() []slack.MsgOption {
	return []slack.MsgOption{slack.MsgOptionText(m.text, false), slack.MsgOptionBlocks(m.blocks...)}
}

// hash fingerprints the content; "" when it cannot be rendered, which never
// matches.
func (m message) hash() string {
	b, err := json.Marshal(m.blocks)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(append([]byte(m.text+"\x00"), b...))
	return hex.EncodeToString(sum[:])
}

// updateIfChanged edits a message unless this process last wrote exactly
// this content to it.
func (c *slackConn) updateIfChanged(ctx context.Context, channelID, ts string, msg message) error {
	hash := msg.hash()
	k := channelID + "/" + ts
	l := c.writes.editLock(k)
	l.Lock()
	defer l.Unlock()
	c.writes.mu.Lock()
	same := hash != "" && c.writes.rendered[k] == hash
	c.writes.mu.Unlock()
	if same {
		return nil
	}
	if _, _, _, err := c.api.UpdateMessageContext(ctx, channelID, ts, msg.options()...); err != nil {
		return err
	}
	c.remember(channelID, ts, hash)
	return nil
}

func (c *slackConn) remember(channelID, ts, hash string) {
	if hash == "" {
		return
	}
	c.writes.mu.Lock()
	c.writes.rendered[channelID+"/"+ts] = hash
	c.writes.mu.Unlock()
}

// lookupTTL is how long a user-group's members or an e-mail's user are
// reused. Short: a person added to the on-call group joins the next
// incident's invitations within a minute.
const lookupTTL = time.Minute

// ttlCache maps a lookup to its answer for lookupTTL.
type ttlCache struct {
	mu      sync.Mutex
	entries map[string]ttlEntry
}

type ttlEntry struct {
	ids []string
	at  time.Time
}

func (c *ttlCache) get(key string, now time.Time) ([]string, bool) {
	return c.getWithin(key, now, lookupTTL)
}

// getWithin returns an answer no older than maxAge, for when a fresh one
// cannot be had.
func (c *ttlCache) getWithin(key string, now time.Time, maxAge time.Duration) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.at) >= maxAge || now.Before(e.at) {
		return nil, false
	}
	return slices.Clone(e.ids), true
}

func (c *ttlCache) put(key string, ids []string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]ttlEntry{}
	}
	if len(c.entries) > 10_000 {
		c.entries = map[string]ttlEntry{} // bounded: start over
	}
	c.entries[key] = ttlEntry{ids: slices.Clone(ids), at: now}
}
