package bot

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// Slack limits the Chat implementation enforces before calling.
const (
	// maxTopic is conversations.setTopic's limit in characters.
	maxTopic = 250
	// inviteBatchSize is how many users one conversations.invite carries.
	inviteBatchSize = 100
	// channelListPage is conversations.list's largest page.
	channelListPage = 1000
	// memberListPage is users.conversations' largest page.
	memberListPage = 999
	// defaultLookupConcurrency bounds the user and user-group lookups of one
	// ResolveUsers call: enough to resolve a large responder list quickly,
	// few enough to stay clear of Tier 2 and 3 rate limits.
	defaultLookupConcurrency = 8
)

// Chat is the Slack implementation of every role of an incident.Chat, one
// type per role (bot/chat_*.go) over one Slack connection. It renders every
// message itself (see PanelBlocks and AnnouncementBlocks) and turns Slack's
// errors into incident errors: ENOTFOUND, EFORBIDDEN, EINVALID, ECONFLICT or
// EUNAVAILABLE, with a sentence that says what failed. The Slack error, a
// *slack.RateLimitedError or a transport error stays in the chain for
// errors.As, and a rate-limited error has a RetryAfter method so the job
// engine waits as long as Slack asked. A Chat is safe for concurrent use.
type Chat struct {
	*chatChannels
	*chatDirectory
	*chatPanels
	*chatMessages
	*chatHistory
	*chatChanges
}

var (
	_ incident.ChannelSetup = (*chatChannels)(nil)
	_ incident.Directory    = (*chatDirectory)(nil)
	_ incident.PanelPoster  = (*chatPanels)(nil)
	_ incident.NoticePoster = (*chatMessages)(nil)
	_ incident.ChatHistory  = (*chatHistory)(nil)
	_ incident.ChangePoster = (*chatChanges)(nil)
)

// Roles is the Chat in every role, for the domain.
func (c *Chat) Roles() incident.Chat {
	return incident.Chat{ChannelSetup: c.chatChannels, Directory: c.chatDirectory, PanelPoster: c.chatPanels,
		NoticePoster: c.chatMessages, ChatHistory: c.chatHistory, ChangePoster: c.chatChanges}
}

// slackConn is what every role of a Chat shares: the Slack client, the
// policy it renders with, and what it remembers of Slack (the bot's id,
// channel names, what it wrote, recent lookups).
type slackConn struct {
	api     *slack.Client
	policy  incident.Policy
	clock   incident.Clock
	log     *slog.Logger
	lookups int

	mu        sync.Mutex
	botUserID string
	// channelIDs caches broadcast channel names resolved to ids.
	channelIDs map[string]string
	// walkStale says a channel was found gone since the channel walk
	// read it: the next lookup reads again.
	walkStale bool

	// walking is held by the one lookup that reads or goes on with walk.
	walking chan struct{}
	walk    channelWalk

	writes writes
	// lookupCache keeps user-group members and e-mail lookups briefly:
	// every incident of a service invites the same groups.
	lookupCache ttlCache
	// guests is the workspace's people as users.list last listed them
	// (WatchGuests), and the changes Slack reported since.
	guests guestList
	// standings shares the changes Slack reported with the other
	// replicas; nil keeps them in this process.
	standings incident.PeopleStore
}

// ChatOption configures a Chat.
type ChatOption func(*slackConn)

// WithChatClock sets the clock used to render times in the control panel;
// the default is incident.SystemClock.
func WithChatClock(c incident.Clock) ChatOption { return func(ch *slackConn) { ch.clock = c } }

// WithChatLogger sets the logger for what the Chat tolerates but someone
// should know about, such as a responder Slack refused to invite. The
// default discards.
func WithChatLogger(l *slog.Logger) ChatOption { return func(ch *slackConn) { ch.log = l } }

// WithPeopleStore shares the changes of people's standing that Slack
// reports (a member made a guest, someone deactivated) through the store,
// so that every replica applies a change any of them took within
// standingsPoll (WatchGuests).
func WithPeopleStore(s incident.PeopleStore) ChatOption {
	return func(ch *slackConn) { ch.standings = s }
}

// WithBotUserID sets the bot's own user id. Without it the Chat asks
// auth.test once and caches the answer.
func WithBotUserID(id string) ChatOption { return func(ch *slackConn) { ch.botUserID = id } }

// WithLookupConcurrency bounds how many user and user-group lookups one
// ResolveUsers call runs at once (default 8).
func WithLookupConcurrency(n int) ChatOption { return func(ch *slackConn) { ch.lookups = n } }

// NewChat returns a Chat that calls Slack through api and renders with
// policy (severity labels, roles, time zone).
func NewChat(api *slack.Client, policy incident.Policy, opts ...ChatOption) *Chat {
	c := &slackConn{
		api:        api,
		policy:     policy,
		clock:      incident.SystemClock,
		log:        slog.New(slog.DiscardHandler),
		lookups:    defaultLookupConcurrency,
		channelIDs: map[string]string{},
		walking:    make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(c)
	}
	c.lookups = max(c.lookups, 1)
	c.writes.init()
	return &Chat{chatChannels: &chatChannels{c}, chatDirectory: &chatDirectory{c}, chatPanels: &chatPanels{c},
		chatMessages: &chatMessages{c}, chatHistory: &chatHistory{c}, chatChanges: &chatChanges{c}}
}

// memberChannel pages through users.conversations, the channels the bot
// is in, for an unarchived channel of the given types named name; nil means
// the bot is in none.
func (c *slackConn) memberChannel(ctx context.Context, name string, types ...string) (*slack.Channel, error) {
	params := &slack.GetConversationsForUserParameters{Types: types, ExcludeArchived: true, Limit: memberListPage}
	for {
		channels, next, err := c.api.GetConversationsForUserContext(ctx, params)
		if err != nil {
			return nil, classifyIn(ctx, "users.conversations", "look up the channel #"+name, err)
		}
		for i := range channels {
			if channels[i].Name == name {
				return &channels[i], nil
			}
		}
		if next == "" {
			return nil, nil
		}
		params.Cursor = next
	}
}

// channelWalk is a read of every public channel of the workspace through
// conversations.list (Tier 2), for a "#name" the bot is not in. In a
// workspace of tens of thousands of channels the read takes more pages than
// Slack allows in a minute; a rate-limited lookup keeps where it stopped
// and what it read, and the next one goes on from there instead of reading
// the first pages again and being stopped at the same place.
type channelWalk struct {
	started time.Time
	cursor  string
	done    bool
	// names is every unarchived public channel read so far, name to id.
	names map[string]string
}

// channelWalkTTL is how long what a walk read stands for: long enough for
// a walk held up by rate limits to finish, short enough that a channel
// created or renamed since is seen on a later lookup.
const channelWalkTTL = 10 * time.Minute

// listedChannel finds the unarchived public channel named name by the
// channel walk; "" means there is none.
func (c *slackConn) listedChannel(ctx context.Context, name string) (string, error) {
	select {
	case c.walking <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.walking }()
	now := c.clock.Now()
	c.mu.Lock()
	stale := c.walkStale
	c.walkStale = false
	c.mu.Unlock()
	w := &c.walk
	if stale || w.names == nil || now.Sub(w.started) > channelWalkTTL {
		*w = channelWalk{started: now, names: map[string]string{}}
	}
	if id, ok := w.names[name]; ok || w.done {
		return id, nil
	}
	restarted := false
	for {
		params := &slack.GetConversationsParameters{Types: []string{"public_channel"}, ExcludeArchived: true,
			Limit: channelListPage, Cursor: w.cursor}
		channels, next, err := c.api.GetConversationsContext(ctx, params)
		if slackCode(err) == "invalid_cursor" && !restarted {
			// Slack no longer knows where the walk was: read again.
			*w = channelWalk{started: now, names: map[string]string{}}
			restarted = true
			continue
		}
		if err != nil {
			return "", classifyIn(ctx, "conversations.list", "look up the channel #"+name, err)
		}
		for _, ch := range channels {
			w.names[ch.Name] = ch.ID
		}
		w.cursor, w.done = next, next == ""
		if id, ok := w.names[name]; ok || w.done {
			return id, nil
		}
	}
}

// named resolves a "#name" from the policy (a digest or alert channel) to
// its id; anything else is passed on as it is.
func (c *slackConn) named(ctx context.Context, channel string) (string, error) {
	if !strings.HasPrefix(channel, "#") {
		return channel, nil
	}
	return c.channelID(ctx, channel)
}

// channelID returns channel itself when it is an id, and otherwise looks the
// name up among the channels the bot can see, once: among those it is in,
// then among the workspace's public channels.
func (c *slackConn) channelID(ctx context.Context, channel string) (string, error) {
	channel = strings.TrimSpace(channel)
	if strings.TrimPrefix(channel, "#") == "" {
		return "", incident.Errorf(incident.EINVALID, "No broadcast channel is configured.")
	}
	if isSlackID(channel, "CGD") {
		return channel, nil
	}
	name := strings.TrimPrefix(channel, "#")
	c.mu.Lock()
	id, ok := c.channelIDs[name]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	// The channels the bot is in first: a private channel can only be one
	// of them, and they are few. Then every public channel.
	ch, err := c.memberChannel(ctx, name, "public_channel", "private_channel")
	if err != nil {
		return "", err
	}
	if ch != nil {
		id = ch.ID
	} else if id, err = c.listedChannel(ctx, name); err != nil {
		return "", err
	}
	if id == "" {
		return "", incident.Errorf(incident.ENOTFOUND,
			"The channel #%s does not exist, or it is private and the bot is not a member.", name)
	}
	c.mu.Lock()
	c.channelIDs[name] = id
	c.mu.Unlock()
	return id, nil
}

// forgetChannel drops a cached name when Slack says its channel is gone
// (renamed or archived), so the next call looks it up again.
func (c *slackConn) forgetChannel(channel string, err error) {
	switch slackCode(err) {
	case "channel_not_found", "is_archived":
		c.mu.Lock()
		delete(c.channelIDs, strings.TrimPrefix(strings.TrimSpace(channel), "#"))
		c.walkStale = true
		c.mu.Unlock()
	}
}

func channelLabel(channel string) string {
	if isSlackID(channel, "CGD") {
		return "<#" + channel + ">"
	}
	return "#" + strings.TrimPrefix(channel, "#")
}

// botID returns the bot's user id, asking auth.test the first time. A
// failure is not cached: the next call asks again.
func (c *slackConn) botID(ctx context.Context) (string, error) {
	if id, ok := c.cachedBotID(); ok {
		return id, nil
	}
	resp, err := c.api.AuthTestContext(ctx)
	if err != nil {
		return "", classifyIn(ctx, "auth.test", "identify the bot", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.botUserID = resp.UserID
	return resp.UserID, nil
}

func (c *slackConn) cachedBotID() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.botUserID, c.botUserID != ""
}
