package bot

import (
	"context"
	"errors"
	"slices"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// chatChannels sets up an incident's war room in Slack: the channel, its
// topic, bookmarks, members and pins (incident.ChannelSetup).
type chatChannels struct{ *slackConn }

// CreateChannel creates a public or private channel; the bot, as its
// creator, is a member. A taken name is ECONFLICT.
func (c *chatChannels) CreateChannel(ctx context.Context, name string, private bool) (string, error) {
	ch, err := c.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name, IsPrivate: private})
	if slackCode(err) == "name_taken" {
		return "", &apiError{method: "conversations.create", err: err,
			kind: incident.Errorf(incident.ECONFLICT, "A channel named #%s already exists.", name)}
	}
	if err != nil {
		return "", classifyIn(ctx, "conversations.create", "create the channel #"+name, err)
	}
	return ch.ID, nil
}

// FindChannel returns the id of the unarchived channel with this name if
// the bot created it, and ENOTFOUND otherwise, so a retried declare adopts
// only its own channel and never someone's #inc-... look-alike. It looks
// only among the channels the bot is in (users.conversations, Tier 3): the
// bot is in every channel it created and still runs, so a few pages answer
// in any workspace, where conversations.list would read every channel of
// the workspace at Tier 2 and, in a large one, be rate-limited before it
// got there, attempt after attempt. A channel the bot created but was
// removed from is not adopted: the bot could not run it, and the declare
// moves on to the next name.
func (c *chatChannels) FindChannel(ctx context.Context, name string, private bool) (string, error) {
	botID, err := c.botID(ctx)
	if err != nil {
		return "", err
	}
	kind := "public_channel"
	if private {
		kind = "private_channel"
	}
	ch, err := c.memberChannel(ctx, name, kind)
	if err != nil {
		return "", err
	}
	if ch == nil || ch.Creator != botID {
		return "", incident.Errorf(incident.ENOTFOUND, "The bot did not create a channel named #%s.", name)
	}
	return ch.ID, nil
}

// SetTopic sets the channel topic a NoticeTopic says, shortened to Slack's
// 250 characters. A topic that is already set is not set again, since each
// change posts a line in the channel: this process remembers what it set,
// and before setting a topic it reads the channel's (another replica, or
// this one before a restart or in an attempt that failed after Slack took
// it, may have set it already).
func (c *chatChannels) SetTopic(ctx context.Context, channelID string, n incident.Notice) error {
	topic := clipRunes(c.noticeText(n), maxTopic)
	c.writes.mu.Lock()
	same := c.writes.topics[channelID] == topic
	c.writes.mu.Unlock()
	if same {
		return nil
	}
	info, err := c.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
	if err != nil {
		return classifyIn(ctx, "conversations.info", "read the channel topic", err)
	}
	if info.Topic.Value == topic {
		c.rememberTopic(channelID, topic)
		return nil
	}
	if _, err := c.api.SetTopicOfConversationContext(ctx, channelID, topic); err != nil {
		return classifyIn(ctx, "conversations.setTopic", "set the channel topic", err)
	}
	c.rememberTopic(channelID, topic)
	return nil
}

func (c *chatChannels) rememberTopic(channelID, topic string) {
	c.writes.mu.Lock()
	c.writes.topics[channelID] = topic
	c.writes.mu.Unlock()
}

// AddBookmark adds a link bookmark, unless the channel already has one with
// the same title and link: setup retries call it again.
func (c *chatChannels) AddBookmark(ctx context.Context, channelID, title, link string) error {
	existing, err := c.api.ListBookmarksContext(ctx, channelID)
	if err != nil {
		return classifyIn(ctx, "bookmarks.list", "list the channel bookmarks", err)
	}
	for _, b := range existing {
		if b.Title == title && b.Link == link {
			return nil
		}
	}
	_, err = c.api.AddBookmarkContext(ctx, channelID, slack.AddBookmarkParameters{Title: title, Type: "link", Link: link})
	if slackCode(err) == "invalid_link" {
		// A link from the policy: the operator fixes it there.
		return &apiError{method: "bookmarks.add", err: err, kind: incident.Errorf(incident.EINVALID,
			"Slack refused to add the bookmark %s: its link %q does not begin with http:// or https://. "+
				"Fix the runbook or dashboard link in the policy file (POLICY_FILE).", title, link)}
	}
	return classifyIn(ctx, "bookmarks.add", "add the bookmark "+title, err)
}

// IsMember reports whether a user is in a channel, paging through
// conversations.members (Tier 4) until it finds them.
func (c *chatChannels) IsMember(ctx context.Context, channelID, userID string) (bool, error) {
	cursor := ""
	for {
		ids, next, err := c.api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: channelID, Cursor: cursor, Limit: channelListPage})
		if slackCode(err) == "channel_not_found" {
			return false, nil
		}
		if err != nil {
			return false, classifyIn(ctx, "conversations.members", "read the members of the incident channel", err)
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
// force flag, so one bad id does not keep the others out. Users already in
// the channel and the bot itself are not errors; users Slack will not
// invite (unknown, deactivated, guests, people of another workspace) are
// logged and returned, with Slack's reason, as an
// *incident.InviteRefusedError once everyone else is invited.
func (c *chatChannels) Invite(ctx context.Context, channelID string, userIDs []string) error {
	botID, _ := c.cachedBotID()
	var ids []string
	for _, id := range incident.Dedupe(userIDs) {
		if id != botID {
			ids = append(ids, id)
		}
	}
	var refused []incident.InviteRefusal
	for start := 0; start < len(ids); start += inviteBatchSize {
		r, err := c.inviteBatch(ctx, channelID, ids[start:min(start+inviteBatchSize, len(ids))])
		if err != nil {
			return err
		}
		refused = append(refused, r...)
	}
	if len(refused) > 0 {
		return &incident.InviteRefusedError{Refused: refused}
	}
	return nil
}

func (c *chatChannels) inviteBatch(ctx context.Context, channelID string, batch []string) ([]incident.InviteRefusal, error) {
	_, err := c.api.ForceInviteUsersToConversationContext(ctx, channelID, batch...)
	if err == nil {
		if len(batch) == 1 {
			return nil, nil
		}
		// Slack answers ok when it invited anyone, listing whom it
		// refused in "errors", which slack-go drops: who is not in the
		// channel now is asked again alone, which says why.
		return c.inviteAbsent(ctx, channelID, batch)
	}
	// With force, Slack fails the call only when it invited nobody; its
	// "errors" list says why for each user. An error whose list names
	// users is about them, whatever its code. When the list does not
	// cover the batch, asking user by user finds out.
	rejected := map[string]string{}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		for _, e := range se.Errors {
			if ci := e.ConversationsInviteResponseError; ci != nil && ci.User != "" {
				rejected[ci.User] = ci.Error
			}
		}
	}
	code := slackCode(err)
	if !perUserInviteError(code) && len(rejected) == 0 {
		return nil, classifyIn(ctx, "conversations.invite", "invite the responders", err)
	}
	if len(batch) == 1 && len(rejected) == 0 {
		rejected[batch[0]] = code
	}
	unexplained := slices.ContainsFunc(batch, func(id string) bool { _, ok := rejected[id]; return !ok })
	if unexplained {
		return c.inviteEach(ctx, channelID, batch)
	}
	var refused []incident.InviteRefusal
	for _, id := range batch {
		switch reason := rejected[id]; reason {
		case "already_in_channel", "cant_invite_self":
		default:
			c.log.WarnContext(ctx, "slack refused to invite a responder", "channel", channelID, "user", id, "reason", reason)
			refused = append(refused, incident.InviteRefusal{User: id, Code: reason})
		}
	}
	return refused, nil
}

// inviteAbsent invites, one by one, those of batch who are not members of
// the channel.
func (c *chatChannels) inviteAbsent(ctx context.Context, channelID string, batch []string) ([]incident.InviteRefusal, error) {
	in := map[string]bool{}
	cursor := ""
	for {
		ids, next, err := c.api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: channelID, Cursor: cursor, Limit: channelListPage})
		if err != nil {
			return nil, classifyIn(ctx, "conversations.members", "read who the responders invited are", err)
		}
		for _, id := range ids {
			in[id] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return c.inviteEach(ctx, channelID, slices.DeleteFunc(slices.Clone(batch), func(id string) bool { return in[id] }))
}

// inviteEach invites the users one by one.
func (c *chatChannels) inviteEach(ctx context.Context, channelID string, ids []string) ([]incident.InviteRefusal, error) {
	var refused []incident.InviteRefusal
	for _, id := range ids {
		r, err := c.inviteBatch(ctx, channelID, []string{id})
		if err != nil {
			return nil, err
		}
		refused = append(refused, r...)
	}
	return refused, nil
}

// perUserInviteError reports whether a conversations.invite error is about
// the users rather than the channel or the bot's rights: the per-user
// codes of docs.slack.dev/reference/methods/conversations.invite (a person
// of another workspace of an Enterprise organisation, or outside a Slack
// Connect channel's teams, among them) and older ones Slack has answered.
func perUserInviteError(code string) bool {
	switch code {
	case "already_in_channel", "cant_invite_self", "user_not_found", "cant_invite", "user_is_restricted",
		"user_is_ultra_restricted", "ura_max_channels", "user_team_not_in_channel", "invalid_user", "user_disabled",
		"org_user_not_in_team", "invitee_cant_see_channel", "no_external_invite_permission",
		"app_cannot_join_channel", "user_is_bot":
		return true
	}
	return false
}

// Pin pins a message; one already pinned is not an error.
func (c *chatChannels) Pin(ctx context.Context, channelID, ts string) error {
	err := c.api.AddPinContext(ctx, channelID, slack.NewRefToMessage(channelID, ts))
	if slackCode(err) == "already_pinned" {
		return nil
	}
	return classifyIn(ctx, "pins.add", "pin the message", err)
}
