package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
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
	// defaultLookupConcurrency bounds the user and user-group lookups of one
	// ResolveUsers call: enough to resolve a large responder list quickly,
	// few enough to stay clear of Tier 2 and 3 rate limits.
	defaultLookupConcurrency = 8
)

var _ incident.Chat = (*Chat)(nil)

// Chat is the Slack implementation of incident.Chat. It renders every
// message itself (see PanelBlocks and AnnouncementBlocks) and turns Slack's
// errors into incident errors: ENOTFOUND, EFORBIDDEN, EINVALID, ECONFLICT or
// EUNAVAILABLE, with a sentence that says what failed. The Slack error, a
// *slack.RateLimitedError or a transport error stays in the chain for
// errors.As, and a rate-limited error has a RetryAfter method so the job
// engine waits as long as Slack asked. A Chat is safe for concurrent use.
type Chat struct {
	api     *slack.Client
	policy  incident.Policy
	clock   incident.Clock
	log     *slog.Logger
	lookups int

	mu        sync.Mutex
	botUserID string
	// channelIDs caches broadcast channel names resolved to ids.
	channelIDs map[string]string

	writes writes
	// lookupCache keeps user-group members and e-mail lookups briefly:
	// every incident of a service invites the same groups.
	lookupCache ttlCache
}

// ChatOption configures a Chat.
type ChatOption func(*Chat)

// WithChatClock sets the clock used to render times in the control panel;
// the default is incident.SystemClock.
func WithChatClock(c incident.Clock) ChatOption { return func(ch *Chat) { ch.clock = c } }

// WithChatLogger sets the logger for what the Chat tolerates but someone
// should know about, such as a responder Slack refused to invite. The
// default discards.
func WithChatLogger(l *slog.Logger) ChatOption { return func(ch *Chat) { ch.log = l } }

// WithBotUserID sets the bot's own user id. Without it the Chat asks
// auth.test once and caches the answer.
func WithBotUserID(id string) ChatOption { return func(ch *Chat) { ch.botUserID = id } }

// WithLookupConcurrency bounds how many user and user-group lookups one
// ResolveUsers call runs at once (default 8).
func WithLookupConcurrency(n int) ChatOption { return func(ch *Chat) { ch.lookups = n } }

// NewChat returns a Chat that calls Slack through api and renders with
// policy (severity labels, roles, time zone).
func NewChat(api *slack.Client, policy incident.Policy, opts ...ChatOption) *Chat {
	c := &Chat{
		api:        api,
		policy:     policy,
		clock:      incident.SystemClock,
		log:        slog.New(slog.DiscardHandler),
		lookups:    defaultLookupConcurrency,
		channelIDs: map[string]string{},
	}
	for _, o := range opts {
		o(c)
	}
	c.lookups = max(c.lookups, 1)
	c.writes.init()
	return c
}

// CreateChannel creates a public or private channel; the bot, as its
// creator, is a member. A taken name is ECONFLICT.
func (c *Chat) CreateChannel(ctx context.Context, name string, private bool) (string, error) {
	ch, err := c.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name, IsPrivate: private})
	if slackCode(err) == "name_taken" {
		return "", &apiError{method: "conversations.create", err: err,
			kind: incident.Errorf(incident.ECONFLICT, "A channel named #%s already exists.", name)}
	}
	if err != nil {
		return "", classify("conversations.create", "create the channel #"+name, err)
	}
	return ch.ID, nil
}

// FindChannel returns the id of the unarchived channel with this name if
// the bot created it, and ENOTFOUND otherwise, so a retried declare adopts
// only its own channel and never someone's #inc-... look-alike.
func (c *Chat) FindChannel(ctx context.Context, name string, private bool) (string, error) {
	botID, err := c.botID(ctx)
	if err != nil {
		return "", err
	}
	kind := "public_channel"
	if private {
		kind = "private_channel"
	}
	ch, err := c.lookupChannel(ctx, name, kind)
	if err != nil {
		return "", err
	}
	if ch == nil || ch.Creator != botID {
		return "", incident.Errorf(incident.ENOTFOUND, "The bot did not create a channel named #%s.", name)
	}
	return ch.ID, nil
}

// lookupChannel pages through conversations.list for an unarchived channel
// of the given types named name; nil means there is none the bot can see.
func (c *Chat) lookupChannel(ctx context.Context, name string, types ...string) (*slack.Channel, error) {
	params := &slack.GetConversationsParameters{Types: types, ExcludeArchived: true, Limit: channelListPage}
	for {
		channels, next, err := c.api.GetConversationsContext(ctx, params)
		if err != nil {
			return nil, classify("conversations.list", "look up the channel #"+name, err)
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

// SetTopic sets the channel topic a NoticeTopic says, shortened to Slack's
// 250 characters. A topic that is already set is not set again, since each
// change posts a line in the channel: this process remembers what it set,
// and a retried job reads the channel's topic first.
func (c *Chat) SetTopic(ctx context.Context, channelID string, n incident.Notice) error {
	topic := clipRunes(c.noticeText(n), maxTopic)
	c.writes.mu.Lock()
	same := c.writes.topics[channelID] == topic
	c.writes.mu.Unlock()
	if same {
		return nil
	}
	if attempt, _ := incident.JobAttempt(ctx); attempt > 1 {
		info, err := c.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
		if err != nil {
			return classify("conversations.info", "read the channel topic", err)
		}
		if info.Topic.Value == topic {
			c.rememberTopic(channelID, topic)
			return nil
		}
	}
	if _, err := c.api.SetTopicOfConversationContext(ctx, channelID, topic); err != nil {
		return classify("conversations.setTopic", "set the channel topic", err)
	}
	c.rememberTopic(channelID, topic)
	return nil
}

func (c *Chat) rememberTopic(channelID, topic string) {
	c.writes.mu.Lock()
	c.writes.topics[channelID] = topic
	c.writes.mu.Unlock()
}

// AddBookmark adds a link bookmark, unless the channel already has one with
// the same title and link: setup retries call it again.
func (c *Chat) AddBookmark(ctx context.Context, channelID, title, link string) error {
	existing, err := c.api.ListBookmarksContext(ctx, channelID)
	if err != nil {
		return classify("bookmarks.list", "list the channel bookmarks", err)
	}
	for _, b := range existing {
		if b.Title == title && b.Link == link {
			return nil
		}
	}
	_, err = c.api.AddBookmarkContext(ctx, channelID, slack.AddBookmarkParameters{Title: title, Type: "link", Link: link})
	return classify("bookmarks.add", "add the bookmark "+title, err)
}

// refKind is what a responder reference names.
type refKind int

const (
	refInvalid refKind = iota
	refUser
	refGroup
	refEmail
)

// parseUserRef reads a responder reference: a user id (U..., W...), a
// user-group id (S...), an e-mail address, or Slack's escaped forms of them
// as they arrive in message text ("<@U123|alice>", "<!subteam^S123|@sre>",
// "<mailto:a@example.com|a@example.com>").
func parseUserRef(ref string) (refKind, string) {
	r := strings.TrimSpace(ref)
	if inner, ok := strings.CutPrefix(r, "<"); ok {
		inner, ok = strings.CutSuffix(inner, ">")
		if !ok {
			return refInvalid, ""
		}
		inner, _, _ = strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(inner, "@"):
			if id := inner[1:]; isSlackID(id, "UW") {
				return refUser, id
			}
		case strings.HasPrefix(inner, "!subteam^"):
			if id := strings.TrimPrefix(inner, "!subteam^"); isSlackID(id, "S") {
				return refGroup, id
			}
		case strings.HasPrefix(inner, "mailto:"):
			if addr := strings.TrimPrefix(inner, "mailto:"); isEmail(addr) {
				return refEmail, addr
			}
		}
		return refInvalid, ""
	}
	switch {
	case isSlackID(r, "UW"):
		return refUser, r
	case isSlackID(r, "S"):
		return refGroup, r
	case isEmail(r):
		return refEmail, r
	}
	return refInvalid, ""
}

// isSlackID reports whether s looks like a Slack id starting with one of
// prefixes: an upper-case letter followed by upper-case letters and digits.
func isSlackID(s, prefixes string) bool {
	if len(s) < 3 || !strings.ContainsRune(prefixes, rune(s[0])) {
		return false
	}
	for _, r := range s[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func isEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " <>|")
}

// ResolveUsers turns user ids, user-group ids and e-mail addresses (plain or
// in Slack's mention syntax) into user ids, in the order given, without
// duplicates and without the bot itself. Group and e-mail lookups run
// concurrently, at most WithLookupConcurrency at a time. References that
// match nobody (an unknown e-mail, a missing or empty group, a malformed
// reference) come back in missing; a failed lookup is an error.
func (c *Chat) ResolveUsers(ctx context.Context, refs []string) (userIDs, missing []string, err error) {
	botID, err := c.botID(ctx)
	if err != nil {
		return nil, nil, err
	}
	type lookup struct {
		kind  refKind
		value string
		ids   []string
	}
	// Two spellings of one group or address ("S123", "<!subteam^S123>")
	// share one lookup.
	refs = incident.Dedupe(refs)
	lookups := map[string]*lookup{}
	keys := make([]string, len(refs))
	for i, ref := range refs {
		kind, v := parseUserRef(ref)
		keys[i] = fmt.Sprintf("%d:%s", kind, v)
		if _, ok := lookups[keys[i]]; !ok {
			lookups[keys[i]] = &lookup{kind: kind, value: v}
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, c.lookups)
	for _, l := range lookups {
		switch l.kind {
		case refInvalid:
			continue
		case refUser:
			l.ids = []string{l.value}
			continue
		}
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				return
			}
			ids, lerr := c.lookupRef(ctx, l.kind, l.value)
			if lerr != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = lerr
					cancel()
				}
				errMu.Unlock()
				return
			}
			l.ids = ids
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, nil, fmt.Errorf("resolve responders: %w", firstErr)
	}

	seen := map[string]bool{botID: true}
	for i, ref := range refs {
		l := lookups[keys[i]]
		if len(l.ids) == 0 {
			missing = append(missing, ref)
			continue
		}
		for _, id := range l.ids {
			if !seen[id] {
				seen[id] = true
				userIDs = append(userIDs, id)
			}
		}
	}
	return userIDs, missing, nil
}

// lookupRef resolves a user group or an e-mail address; no ids and no error
// means it matches nobody.
func (c *Chat) lookupRef(ctx context.Context, kind refKind, v string) ([]string, error) {
	key := fmt.Sprint(kind, ":", v)
	if ids, ok := c.lookupCache.get(key, c.clock.Now()); ok {
		return ids, nil
	}
	ids, err := c.lookupRefUncached(ctx, kind, v)
	if err == nil {
		c.lookupCache.put(key, ids, c.clock.Now())
	}
	return ids, err
}

func (c *Chat) lookupRefUncached(ctx context.Context, kind refKind, v string) ([]string, error) {
	if kind == refGroup {
		ids, err := c.api.GetUserGroupMembersContext(ctx, v)
		switch slackCode(err) {
		case "no_such_subteam", "subteam_not_found":
			return nil, nil
		}
		if err != nil {
			return nil, classify("usergroups.users.list", "list the members of user group "+v, err)
		}
		return ids, nil
	}
	u, err := c.api.GetUserByEmailContext(ctx, v)
	if slackCode(err) == "users_not_found" {
		return nil, nil
	}
	if err != nil {
		// The address stays out of the message: it is personal data.
		return nil, classify("users.lookupByEmail", "look up a responder by e-mail", err)
	}
	if u.Deleted {
		return nil, nil
	}
	return []string{u.ID}, nil
}

// IsMember reports whether a user is in a channel, paging through
// conversations.members (Tier 4) until it finds them.
func (c *Chat) IsMember(ctx context.Context, channelID, userID string) (bool, error) {
	cursor := ""
	for {
		ids, next, err := c.api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: channelID, Cursor: cursor, Limit: channelListPage})
		if slackCode(err) == "channel_not_found" {
			return false, nil
		}
		if err != nil {
			return false, classify("conversations.members", "read the members of the incident channel", err)
		}
		if slices.Contains(ids, userID) {
			return true, nil
		}
		if next == "" {
			return false, nil
		}
		cursor = next
	}
}

// Invite adds users to a channel, at most 100 per call. It uses Slack's
// force flag, so one bad id does not keep the others out; users already in
// the channel, the bot itself and users Slack will not invite (unknown,
// deactivated, guests) are not errors, the latter are logged.
func (c *Chat) Invite(ctx context.Context, channelID string, userIDs []string) error {
	botID, _ := c.cachedBotID()
	var ids []string
	for _, id := range incident.Dedupe(userIDs) {
		if id != botID {
			ids = append(ids, id)
		}
	}
	for start := 0; start < len(ids); start += inviteBatchSize {
		if err := c.inviteBatch(ctx, channelID, ids[start:min(start+inviteBatchSize, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Chat) inviteBatch(ctx context.Context, channelID string, batch []string) error {
	_, err := c.api.ForceInviteUsersToConversationContext(ctx, channelID, batch...)
	if err == nil {
		return nil
	}
	code := slackCode(err)
	if !perUserInviteError(code) {
		return classify("conversations.invite", "invite the responders", err)
	}
	// With force, Slack fails the call only when it invited nobody; its
	// "errors" list says why for each user. When the list does not cover
	// the batch, asking user by user finds out.
	rejected := map[string]string{}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		for _, e := range se.Errors {
			if ci := e.ConversationsInviteResponseError; ci != nil && ci.User != "" {
				rejected[ci.User] = ci.Error
			}
		}
	}
	if len(batch) == 1 && len(rejected) == 0 {
		rejected[batch[0]] = code
	}
	unexplained := slices.ContainsFunc(batch, func(id string) bool { _, ok := rejected[id]; return !ok })
	if unexplained {
		for _, id := range batch {
			if err := c.inviteBatch(ctx, channelID, []string{id}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, id := range batch {
		switch reason := rejected[id]; reason {
		case "already_in_channel", "cant_invite_self":
		default:
			c.log.WarnContext(ctx, "slack refused to invite a responder", "channel", channelID, "user", id, "reason", reason)
		}
	}
	return nil
}

// perUserInviteError reports whether a conversations.invite error is about
// the users rather than the channel or the bot's rights.
func perUserInviteError(code string) bool {
	switch code {
	case "already_in_channel", "cant_invite_self", "user_not_found", "cant_invite", "user_is_restricted",
		"user_is_ultra_restricted", "ura_max_channels", "user_team_not_in_channel", "invalid_user", "user_disabled":
		return true
	}
	return false
}

// PostPanel posts the incident's control panel in its channel.
func (c *Chat) PostPanel(ctx context.Context, inc *incident.Incident) (string, error) {
	if inc.ChannelID == "" {
		return "", incident.Errorf(incident.EINVALID, "%s has no channel yet, so its control panel cannot be posted.", inc.Key())
	}
	msg := c.panelMessage(inc)
	opts := msg.options()
	_, ts, adopted, err := c.postOnce(ctx, inc.ChannelID, fmt.Sprintf("panel:%d", inc.ID), opts...)
	if err != nil {
		return "", classify("chat.postMessage", "post the control panel of "+inc.Key(), err)
	}
	if adopted {
		// An earlier attempt posted it: bring it up to date instead.
		if err := c.updateIfChanged(ctx, inc.ChannelID, ts, msg); err != nil {
			return "", classify("chat.update", "update the control panel of "+inc.Key(), err)
		}
		return ts, nil
	}
	c.remember(inc.ChannelID, ts, msg.hash())
	return ts, nil
}

// UpdatePanel redraws the control panel in place. An incident whose panel
// was never posted is ENOTFOUND.
func (c *Chat) UpdatePanel(ctx context.Context, inc *incident.Incident) error {
	if inc.ChannelID == "" || inc.PanelTS == "" {
		return incident.Errorf(incident.ENOTFOUND, "%s has no control panel yet.", inc.Key())
	}
	err := c.updateIfChanged(ctx, inc.ChannelID, inc.PanelTS, c.panelMessage(inc))
	return classify("chat.update", "update the control panel of "+inc.Key(), err)
}

func (c *Chat) panelMessage(inc *incident.Incident) message {
	return message{text: panelFallback(inc, c.policy), blocks: PanelBlocks(inc, c.policy, c.clock.Now())}
}

// Pin pins a message; one already pinned is not an error.
func (c *Chat) Pin(ctx context.Context, channelID, ts string) error {
	err := c.api.AddPinContext(ctx, channelID, slack.NewRefToMessage(channelID, ts))
	if slackCode(err) == "already_pinned" {
		return nil
	}
	return classify("pins.add", "pin the message", err)
}

// Announce posts the incident in the broadcast channel, given as an id or
// as a name with or without '#', and returns the channel's id and the
// message's ts. Names are resolved once and cached.
//
// A private incident is announced only in a private channel: a public one
// is refused with EFORBIDDEN before anything is posted.
func (c *Chat) Announce(ctx context.Context, channel string, inc *incident.Incident) (string, string, error) {
	channelID, err := c.channelID(ctx, channel)
	if err != nil {
		return "", "", err
	}
	if inc.Private {
		info, err := c.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
		if err != nil {
			return "", "", classify("conversations.info", "check that "+channelLabel(channel)+" is private", err)
		}
		if !info.IsPrivate {
			return "", "", incident.Errorf(incident.EFORBIDDEN, "%s is private, and %s is a public channel: set channels.private_broadcast to a private channel.", inc.Key(), channelLabel(channel))
		}
	}
	msg := c.announcementMessage(inc)
	opts := msg.options()
	respChannel, ts, adopted, err := c.postOnce(ctx, channelID, fmt.Sprintf("announce:%d", inc.ID), opts...)
	if err != nil {
		c.forgetChannel(channel, err)
		return "", "", classify("chat.postMessage", "announce "+inc.Key()+" in "+channelLabel(channel), err)
	}
	if respChannel == "" {
		respChannel = channelID
	}
	if adopted {
		if err := c.updateIfChanged(ctx, respChannel, ts, msg); err != nil {
			return "", "", classify("chat.update", "update the announcement of "+inc.Key(), err)
		}
		return respChannel, ts, nil
	}
	c.remember(respChannel, ts, msg.hash())
	return respChannel, ts, nil
}

// UpdateAnnouncement redraws the announcement in place.
func (c *Chat) UpdateAnnouncement(ctx context.Context, channelID, ts string, inc *incident.Incident) error {
	id, err := c.channelID(ctx, channelID)
	if err != nil {
		return err
	}
	err = c.updateIfChanged(ctx, id, ts, c.announcementMessage(inc))
	return classify("chat.update", "update the announcement of "+inc.Key(), err)
}

func (c *Chat) announcementMessage(inc *incident.Incident) message {
	return message{text: panelFallback(inc, c.policy), blocks: AnnouncementBlocks(inc, c.policy)}
}

// named resolves a "#name" from the policy (a digest or alert channel) to
// its id; anything else is passed on as it is.
func (c *Chat) named(ctx context.Context, channel string) (string, error) {
	if !strings.HasPrefix(channel, "#") {
		return channel, nil
	}
	return c.channelID(ctx, channel)
}

// channelID returns channel itself when it is an id, and otherwise looks the
// name up among the channels the bot can see, once.
func (c *Chat) channelID(ctx context.Context, channel string) (string, error) {
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
	ch, err := c.lookupChannel(ctx, name, "public_channel", "private_channel")
	if err != nil {
		return "", err
	}
	if ch == nil {
		return "", incident.Errorf(incident.ENOTFOUND,
			"The channel #%s does not exist, or it is private and the bot is not a member.", name)
	}
	c.mu.Lock()
	c.channelIDs[name] = ch.ID
	c.mu.Unlock()
	return ch.ID, nil
}

// forgetChannel drops a cached name when Slack says its channel is gone
// (renamed or archived), so the next call looks it up again.
func (c *Chat) forgetChannel(channel string, err error) {
	switch slackCode(err) {
	case "channel_not_found", "is_archived":
		c.mu.Lock()
		delete(c.channelIDs, strings.TrimPrefix(strings.TrimSpace(channel), "#"))
		c.mu.Unlock()
	}
}

func channelLabel(channel string) string {
	if isSlackID(channel, "CGD") {
		return "<#" + channel + ">"
	}
	return "#" + strings.TrimPrefix(channel, "#")
}

// Post posts a line of mrkdwn text and returns its ts.
func (c *Chat) Post(ctx context.Context, channelID, text string) (string, error) {
	channelID, err := c.named(ctx, channelID)
	if err != nil {
		return "", err
	}
	text = clipRunes(text, maxMessageText)
	_, ts, _, err := c.postOnce(ctx, channelID, postKey(ctx, "line", channelID+"\n"+text), slack.MsgOptionText(text, false))
	if err != nil {
		return "", classify("chat.postMessage", "post a message", err)
	}
	return ts, nil
}

// Reply answers privately: through the response URL when there is one, else
// as an ephemeral message in the channel, else in a direct message. Each
// way falls back to the next when it fails for a reason the next can avoid:
// an expired response URL, a channel the bot or the user is not in. A target
// with only a channel gets an ordinary message there.
func (c *Chat) Reply(ctx context.Context, to incident.ReplyTarget, text string) error {
	text = clipRunes(text, maxMessageText)
	if to.ResponseURL != "" {
		_, _, err := c.api.PostMessageContext(ctx, "", slack.MsgOptionText(text, false),
			slack.MsgOptionResponseURL(to.ResponseURL, slack.ResponseTypeEphemeral))
		if err == nil {
			return nil
		}
		err = redactURL(err)
		if to.UserID == "" || ctx.Err() != nil {
			return classify("response_url", "reply", err)
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
		return classify("chat.postEphemeral", "reply", err)
	case to.UserID != "":
		return c.directMessage(ctx, to.UserID, text)
	case to.ChannelID != "":
		_, err := c.Post(ctx, to.ChannelID, text)
		return err
	}
	return incident.Errorf(incident.EINVALID, "There is nobody to reply to.")
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

func (c *Chat) directMessage(ctx context.Context, userID, text string) error {
	ch, _, _, err := c.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userID}, ReturnIM: true})
	if err != nil {
		return classify("conversations.open", "open a direct message", err)
	}
	if ch == nil || ch.ID == "" {
		return incident.Errorf(incident.EINTERNAL, "Slack opened no direct message channel.")
	}
	if _, _, _, err := c.postOnce(ctx, ch.ID, postKey(ctx, "dm", ch.ID+"\n"+text), slack.MsgOptionText(text, false)); err != nil {
		return classify("chat.postMessage", "send a direct message", err)
	}
	return nil
}

// botID returns the bot's user id, asking auth.test the first time. A
// failure is not cached: the next call asks again.
func (c *Chat) botID(ctx context.Context) (string, error) {
	if id, ok := c.cachedBotID(); ok {
		return id, nil
	}
	resp, err := c.api.AuthTestContext(ctx)
	if err != nil {
		return "", classify("auth.test", "identify the bot", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.botUserID = resp.UserID
	return resp.UserID, nil
}

func (c *Chat) cachedBotID() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.botUserID, c.botUserID != ""
}

// apiError is a failed Slack call. Its chain holds the incident error that
// says what failed in words a person can act on (when the cause does not
// carry its own, as the outbound client's errors do) and the cause itself:
// slack.SlackErrorResponse, slack.StatusCodeError, a transport error.
type apiError struct {
	method string
	kind   *incident.Error
	err    error
}

// Error implements the error interface.
func (e *apiError) Error() string { return "slack " + e.method + ": " + e.err.Error() }

// Unwrap returns the incident error first, so errors.As finds it before any
// other in the cause.
func (e *apiError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// rateLimitedError is an apiError for a call Slack rate limited. RetryAfter
// lets the job engine wait as long as Slack asked.
type rateLimitedError struct {
	*apiError
	wait time.Duration
}

// RetryAfter returns how long Slack asked us to wait.
func (e *rateLimitedError) RetryAfter() time.Duration { return e.wait }

// slackCode returns the Slack error code of err ("name_taken"), or "".
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	var sp *slack.SlackErrorResponse
	if errors.As(err, &sp) && sp != nil {
		return sp.Err
	}
	return ""
}

// classify wraps a failed call to method; what says, for people, what the
// bot was trying to do ("set the channel topic"). nil stays nil.
func classify(method, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &apiError{method: method, err: err}
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &rateLimitedError{wait: rl.RetryAfter, apiError: &apiError{method: method, err: err,
			kind: incident.Errorf(incident.EUNAVAILABLE, "Slack is rate limiting the bot, so it could not %s yet; it will try again in %s.",
				what, max(rl.RetryAfter, time.Second).Round(time.Second))}}
	}
	var ie *incident.Error
	if errors.As(err, &ie) {
		return &apiError{method: method, err: err}
	}
	if code := slackCode(err); code != "" {
		return &apiError{method: method, err: err, kind: slackErrorKind(code, what, err)}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code >= 500 {
			return &apiError{method: method, err: err, kind: incident.Errorf(incident.EUNAVAILABLE,
				"Slack is not responding (HTTP %d), so the bot could not %s; it will try again.", sc.Code, what)}
		}
		return &apiError{method: method, err: err, kind: incident.Errorf(incident.EINTERNAL,
			"Slack answered HTTP %d when the bot tried to %s.", sc.Code, what)}
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) {
		return &apiError{method: method, err: err, kind: incident.Errorf(incident.EUNAVAILABLE,
			"The bot could not reach Slack to %s; it will try again.", what)}
	}
	return &apiError{method: method, err: err}
}

// slackErrorKind maps a Slack error code to an incident error whose message
// says what failed and why.
func slackErrorKind(code, what string, err error) *incident.Error {
	refused := func(kind, why string) *incident.Error {
		return incident.Errorf(kind, "Slack refused to %s: %s.", what, why)
	}
	switch code {
	case "channel_not_found":
		return refused(incident.ENOTFOUND, "the channel does not exist, or it is private and the bot is not a member")
	case "message_not_found", "thread_not_found":
		return refused(incident.ENOTFOUND, "the message no longer exists")
	case "user_not_found", "users_not_found", "no_such_subteam", "subteam_not_found":
		return refused(incident.ENOTFOUND, "the user or group does not exist")
	case "not_in_channel":
		return refused(incident.EFORBIDDEN, "the bot is not a member of the channel; invite it first")
	case "user_not_in_channel":
		return refused(incident.EFORBIDDEN, "the person is not a member of the channel")
	case "is_archived", "is_inactive":
		return refused(incident.ECONFLICT, "the channel is archived")
	case "missing_scope":
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Needed != "" {
			return refused(incident.EFORBIDDEN, "the Slack app lacks the "+se.Needed+" permission; reinstall it with that scope")
		}
		return refused(incident.EFORBIDDEN, "the Slack app lacks a permission it needs; reinstall it with the scopes in the manifest")
	case "not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type",
		"no_permission", "access_denied", "ekm_access_denied", "team_access_not_granted":
		return refused(incident.EFORBIDDEN, "the bot's token is not valid for this workspace")
	case "restricted_action", "cannot_create_channel", "cant_invite", "user_is_restricted", "not_pinnable":
		return refused(incident.EFORBIDDEN, "the workspace settings do not allow it")
	case "invalid_name", "invalid_name_maxlength", "invalid_name_punctuation", "invalid_name_required",
		"invalid_name_specials":
		return refused(incident.EINVALID, "the channel name is not allowed ("+code+")")
	case "too_long", "msg_too_long", "msg_blocks_too_long", "invalid_blocks", "invalid_blocks_format", "no_text",
		"invalid_link", "invalid_arguments", "invalid_bookmark_type", "too_many_users", "invalid_cursor",
		"invalid_ts_latest", "invalid_ts_oldest", "no_item_specified":
		return refused(incident.EINVALID, "the request was malformed ("+code+"); this is a bug in the bot")
	case "too_many_bookmarks":
		return refused(incident.EINVALID, "the channel has as many bookmarks as Slack allows")
	case "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return incident.Errorf(incident.EUNAVAILABLE, "Slack could not %s right now (%s); the bot will try again.", what, code)
	}
	return refused(incident.EINTERNAL, "Slack said "+code)
}
