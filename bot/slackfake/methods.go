package slackfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of conversations.* arguments, from Slack's method docs.
const (
	MaxChannelName  = 80
	MaxTopic        = 250
	MaxPurpose      = 250
	MaxHistoryLimit = 999
	MaxListLimit    = 1000
	// MaxUserConversationsLimit is users.conversations' largest page.
	MaxUserConversationsLimit = 999
)

// conversationsAPI serves conversations.*: channels, direct messages,
// membership, topic and purpose, history and threads.
type conversationsAPI struct{ *world }

// chatAPI serves chat.*, pins.* and reactions.add: the bot's messages and
// what it does to them.
type chatAPI struct{ *world }

// bookmarksAPI serves bookmarks.*.
type bookmarksAPI struct{ *world }

// directoryAPI serves auth.test, users.* and usergroups.*.
type directoryAPI struct{ *world }

func (s *directoryAPI) authTest(r *apiRequest) result {
	return ok(result{
		"url":                   "https://" + s.cfg.teamDomain + ".slack.com/",
		"team":                  s.cfg.teamName,
		"user":                  s.cfg.botName,
		"team_id":               s.cfg.teamID,
		"user_id":               s.cfg.botUserID,
		"bot_id":                s.cfg.botID,
		"is_enterprise_install": false,
	})
}

func (s *socketMode) appsConnectionsOpen(r *apiRequest) result {
	ticket := s.sock.newTicket()
	return ok(result{"url": "ws://" + r.host + "/socket/link?ticket=" + ticket + "&app_id=" + s.cfg.appID})
}

// channelJSON renders a channel the way conversations.* return it.
func (s *world) channelJSON(c *Channel) map[string]any {
	if c.IM {
		return map[string]any{
			"id": c.ID, "is_im": true, "is_org_shared": false, "user": c.Members[len(c.Members)-1],
			"created": c.Created.Unix(), "is_user_deleted": false, "priority": 0,
		}
	}
	return map[string]any{
		"id":              c.ID,
		"name":            c.Name,
		"name_normalized": c.Name,
		"is_channel":      !c.Private,
		"is_group":        c.Private,
		"is_im":           false,
		"is_mpim":         false,
		"is_private":      c.Private,
		"is_archived":     c.Archived,
		"is_general":      false,
		"is_shared":       false,
		"is_ext_shared":   false,
		"is_org_shared":   false,
		"is_member":       slices.Contains(c.Members, s.cfg.botUserID),
		"created":         c.Created.Unix(),
		"creator":         c.Creator,
		"context_team_id": s.cfg.teamID,
		"unlinked":        0,
		"topic":           map[string]any{"value": c.Topic, "creator": "", "last_set": 0},
		"purpose":         map[string]any{"value": c.Purpose, "creator": "", "last_set": 0},
		"num_members":     len(c.Members),
	}
}

func (s *world) messageJSON(m *Message) map[string]any {
	out := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "user": m.User, "team": s.cfg.teamID}
	if m.BotID != "" {
		out["bot_id"] = m.BotID
		out["app_id"] = s.cfg.appID
	}
	systemMessageJSON(m, out)
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.ThreadTS == m.TS && m.ReplyCount > 0 {
		out["reply_count"] = m.ReplyCount
	}
	if !isJSONNull(m.Blocks) {
		out["blocks"] = json.RawMessage(m.Blocks)
	}
	if !isJSONNull(m.Attachments) {
		out["attachments"] = json.RawMessage(m.Attachments)
	}
	if !isJSONNull(m.Metadata) {
		out["metadata"] = json.RawMessage(m.Metadata)
	}
	if !isJSONNull(m.Files) {
		out["files"] = json.RawMessage(m.Files)
	}
	if m.EditedTS != "" {
		out["edited"] = map[string]any{"user": m.User, "ts": m.EditedTS}
	}
	if len(m.Reactions) > 0 {
		rs := make([]map[string]any, 0, len(m.Reactions))
		for _, r := range m.Reactions {
			rs = append(rs, map[string]any{"name": r.Name, "users": r.Users, "count": len(r.Users)})
		}
		out["reactions"] = rs
	}
	if ch := s.channels[m.Channel]; ch != nil && slices.Contains(ch.Pins, m.TS) {
		out["pinned_to"] = []string{m.Channel}
	}
	return out
}

// systemMessageJSON adds a message's subtype and the fields Slack
// documents for it (https://docs.slack.dev/reference/events/message and
// the page of each subtype).
func systemMessageJSON(m *Message, out map[string]any) {
	if m.Subtype == "" {
		return
	}
	out["subtype"] = m.Subtype
	set := func(key, value string) {
		if value != "" {
			out[key] = value
		}
	}
	switch m.Subtype {
	case "channel_join":
		set("inviter", m.Inviter)
	case "channel_topic":
		out["topic"] = m.Topic
	case "channel_purpose":
		out["purpose"] = m.Purpose
	case "channel_name":
		out["old_name"], out["name"] = m.OldName, m.Name
	case "pinned_item":
		out["item_type"] = "C" // a message, the only thing the fake pins
	case "bot_add":
		// The bot added is another app's, not the fake's own.
		delete(out, "app_id")
		set("bot_link", m.BotLink)
	case "tombstone":
		out["hidden"] = true
	}
}

func (s *directoryAPI) userJSON(u *User) map[string]any {
	tz := u.TZ
	if tz == "" {
		tz = "UTC"
	}
	display := u.DisplayName
	if display == "" {
		display = u.Name
	}
	// A person of another workspace (a shared channel's) carries their
	// own workspace's id, as Slack answers for them.
	team := s.cfg.teamID
	if u.TeamID != "" {
		team = u.TeamID
	}
	out := map[string]any{
		"id":        u.ID,
		"team_id":   team,
		"name":      u.Name,
		"real_name": u.RealName,
		"deleted":   u.Deleted,
		"is_bot":    u.IsBot,
		"is_admin":  false,
		// Guests: multi-channel (is_restricted) and single-channel
		// (is_ultra_restricted, which Slack reports with is_restricted
		// too).
		"is_restricted":       u.Guest || u.SingleChannelGuest,
		"is_ultra_restricted": u.SingleChannelGuest,
		"tz":                  tz,
		"profile": map[string]any{
			"email":                   u.Email,
			"real_name":               u.RealName,
			"real_name_normalized":    u.RealName,
			"display_name":            display,
			"display_name_normalized": display,
			"team":                    s.cfg.teamID,
		},
	}
	if u.EnterpriseID != "" {
		out["enterprise_user"] = map[string]any{"id": u.ID, "enterprise_id": u.EnterpriseID,
			"enterprise_name": u.EnterpriseID, "is_admin": false, "is_owner": false, "teams": []string{team}}
	}
	if u.Stranger {
		out["is_stranger"] = true
	}
	return out
}

// visibleChannel returns the channel the bot can see: any public channel, and private
// ones it belongs to. Slack answers channel_not_found for the rest.
func (s *world) visibleChannel(id string) *Channel {
	ch := s.channels[id]
	if ch == nil || (ch.Private && !slices.Contains(ch.Members, s.cfg.botUserID)) {
		return nil
	}
	return ch
}

func (s *world) botIsMember(ch *Channel) bool { return slices.Contains(ch.Members, s.cfg.botUserID) }

// validateChannelName applies conversations.create's naming rules.
func validateChannelName(name string) string {
	if name == "" {
		return "invalid_name_required"
	}
	if utf8.RuneCountInString(name) > MaxChannelName {
		return "invalid_name_maxlength"
	}
	onlyPunct := true
	for _, r := range name {
		switch {
		case r == '-' || r == '_':
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			onlyPunct = false
		default:
			return "invalid_name_specials"
		}
	}
	if onlyPunct {
		return "invalid_name_punctuation"
	}
	return ""
}

func (s *conversationsAPI) conversationsCreate(r *apiRequest) result {
	name := r.str("name")
	if code := validateChannelName(name); code != "" {
		return fail(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.channelByName[name]; taken {
		return fail("name_taken")
	}
	ch := &Channel{
		ID: s.nextID("C"), Name: name, Private: r.boolean("is_private"),
		Members: []string{s.cfg.botUserID}, Creator: s.cfg.botUserID, Created: r.now,
	}
	s.channels[ch.ID] = ch
	s.channelOrder = append(s.channelOrder, ch.ID)
	s.indexChannel(ch)
	return ok(result{"channel": s.channelJSON(ch)})
}

func (s *conversationsAPI) conversationsInfo(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	if ch == nil {
		return fail("channel_not_found")
	}
	return ok(result{"channel": s.channelJSON(ch)})
}

// Cursors are opaque to clients; the fake uses base64 of "<kind>:<value>" like Slack.
func encodeCursor(kind, v string) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + ":" + v))
}

func decodeCursor(kind, c string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), kind+":")
}

// cursorArg reads "cursor", a cursor of the kind, into the key it carries;
// false means Slack would answer invalid_cursor.
func cursorArg(r *apiRequest, kind string) (string, bool) {
	c := r.str("cursor")
	if c == "" {
		return "", true
	}
	return decodeCursor(kind, c)
}

// nextCursor is the response_metadata.next_cursor for a page whose next key is next.
func nextCursor(kind, next string) string {
	if next == "" {
		return ""
	}
	return encodeCursor(kind, next)
}

// limitArg reads "limit" with Slack's default and cap; bad values fall back to the default.
func limitArg(r *apiRequest, def, maxLimit int) int {
	n, err := strconv.Atoi(r.str("limit"))
	if err != nil || n <= 0 {
		return def
	}
	return min(n, maxLimit)
}

// page cuts items at the cursor (a key produced by keyOf) and returns one page and
// the cursor of the next one.
func page[T any](items []T, cursorKey string, limit int, keyOf func(T) string) ([]T, string, bool) {
	start := 0
	if cursorKey != "" {
		start = slices.IndexFunc(items, func(it T) bool { return keyOf(it) == cursorKey })
		if start < 0 {
			return nil, "", false
		}
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = keyOf(items[end])
	}
	return items[start:end], next, true
}

// channelTypes reads conversations.list's "types" (public_channel when none).
func channelTypes(r *apiRequest) map[string]bool {
	types := map[string]bool{}
	for _, t := range strings.Split(r.str("types"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			types[t] = true
		}
	}
	if len(types) == 0 {
		types["public_channel"] = true
	}
	return types
}

// listable reports whether conversations.list shows ch for the types asked.
func listable(ch *Channel, types map[string]bool, excludeArchived bool) bool {
	switch {
	case ch == nil, excludeArchived && ch.Archived:
		return false
	case ch.IM && types["im"], !ch.IM && ch.Private && types["private_channel"]:
		return true
	}
	return !ch.Private && types["public_channel"]
}

func (s *conversationsAPI) conversationsList(r *apiRequest) result {
	types := channelTypes(r)
	excludeArchived := r.boolean("exclude_archived")

	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*Channel
	for _, id := range s.channelOrder {
		if ch := s.visibleChannel(id); listable(ch, types, excludeArchived) {
			list = append(list, ch)
		}
	}
	cursorKey, valid := cursorArg(r, "team")
	if !valid {
		return fail("invalid_cursor")
	}
	items, next, valid := page(list, cursorKey, limitArg(r, 100, MaxListLimit), func(c *Channel) string { return c.ID })
	if !valid {
		return fail("invalid_cursor")
	}
	out := make([]map[string]any, 0, len(items))
	for _, ch := range items {
		out = append(out, s.channelJSON(ch))
	}
	return ok(result{"channels": out, "response_metadata": map[string]any{"next_cursor": nextCursor("team", next)}})
}

// usersConversations lists the channels a user is in, as users.conversations
// with the user argument and a bot token answers: public channels, and
// private ones only where the bot is a member too; without is_member and
// num_members, which Slack leaves out of this method's answer. limit is at
// most 999.
func (s *conversationsAPI) usersConversations(r *apiRequest) result {
	types := channelTypes(r)
	excludeArchived := r.boolean("exclude_archived")
	user := r.str("user")
	if user == "" {
		user = s.cfg.botUserID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[user]; u == nil && user != s.cfg.botUserID {
		return fail("user_not_found")
	}
	var list []*Channel
	for _, id := range s.channelOrder {
		ch := s.visibleChannel(id)
		if ch != nil && slices.Contains(ch.Members, user) && listable(ch, types, excludeArchived) {
			list = append(list, ch)
		}
	}
	cursorKey, valid := cursorArg(r, "team")
	if !valid {
		return fail("invalid_cursor")
	}
	items, next, valid := page(list, cursorKey, limitArg(r, 100, MaxUserConversationsLimit), func(c *Channel) string { return c.ID })
	if !valid {
		return fail("invalid_cursor")
	}
	out := make([]map[string]any, 0, len(items))
	for _, ch := range items {
		j := s.channelJSON(ch)
		delete(j, "is_member")
		delete(j, "num_members")
		out = append(out, j)
	}
	return ok(result{"channels": out, "response_metadata": map[string]any{"next_cursor": nextCursor("team", next)}})
}

func (s *conversationsAPI) conversationsMembers(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	if ch == nil {
		return fail("channel_not_found")
	}
	cursorKey, valid := cursorArg(r, "user")
	if !valid {
		return fail("invalid_cursor")
	}
	items, next, valid := page(ch.Members, cursorKey, limitArg(r, 100, MaxListLimit), func(u string) string { return u })
	if !valid {
		return fail("invalid_cursor")
	}
	return ok(result{"members": slices.Clone(items), "response_metadata": map[string]any{"next_cursor": nextCursor("user", next)}})
}

func (s *conversationsAPI) conversationsJoin(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	switch {
	case s.cfg.withoutScope["channels:join"]:
		return fail("missing_scope")
	case ch == nil:
		return fail("channel_not_found")
	case ch.Private:
		return fail("method_not_supported_for_channel_type")
	case ch.Archived:
		return fail("is_archived")
	case s.botIsMember(ch):
		return ok(result{
			"channel": s.channelJSON(ch), "warning": "already_in_channel",
			"response_metadata": map[string]any{"warnings": []string{"already_in_channel"}},
		})
	}
	ch.Members = append(ch.Members, s.cfg.botUserID)
	return ok(result{"channel": s.channelJSON(ch)})
}

// conversationsInvite invites users. Without force, one bad id fails the whole call
// and nobody is invited; with force the valid ids are invited and the bad ones are
// reported in "errors". The error code for more ids than the limit is not documented
// by Slack; the fake answers too_many_users.
func (s *conversationsAPI) conversationsInvite(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	switch {
	case ch == nil:
		return fail("channel_not_found")
	case ch.Archived:
		return fail("is_archived")
	case !s.botIsMember(ch):
		return fail("not_in_channel")
	}
	ids := userIDs(r.str("users"))
	if len(ids) == 0 {
		return fail("no_user")
	}
	if len(ids) > s.cfg.inviteLimit {
		return fail("too_many_users")
	}
	valid, errs := s.sortInvitees(ch, ids)
	if len(errs) > 0 && (!r.boolean("force") || len(valid) == 0) {
		res := fail(errs[0]["error"].(string))
		res["errors"] = errs
		return res
	}
	ch.Members = append(ch.Members, valid...)
	// Each person invited leaves a channel_join message in the history,
	// naming who invited them, as Slack does.
	for _, id := range valid {
		s.insertMessage(&Message{Channel: ch.ID, TS: s.nextTS(), User: id, Subtype: "channel_join", Inviter: s.cfg.botUserID,
			Text: "<@" + id + "> has joined the channel"})
	}
	res := ok(result{"channel": s.channelJSON(ch)})
	if len(errs) > 0 {
		res["errors"] = errs
	}
	return res
}

// userIDs reads a comma-separated list of user ids.
func userIDs(list string) []string {
	var ids []string
	for _, id := range strings.Split(list, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// sortInvitees splits the ids into those that can be invited to ch and the
// per-user errors of the rest, in conversations.invite's shape. Besides
// unknown and deactivated people, Slack refuses a person of another
// workspace of the organisation (org_user_not_in_team), a single-channel
// guest already in their one channel (ura_max_channels) and any other
// guest, whom only an admin adds to channels and the bot is none
// (user_is_restricted).
func (s *conversationsAPI) sortInvitees(ch *Channel, ids []string) (valid []string, errs []map[string]any) {
	for _, id := range ids {
		code := ""
		u := s.users[id]
		switch {
		case id == s.cfg.botUserID:
			code = "cant_invite_self"
		case u == nil || u.Deleted:
			code = "user_not_found"
		case u.TeamID != "" && u.TeamID != s.cfg.teamID:
			code = "org_user_not_in_team"
		case slices.Contains(ch.Members, id) || slices.Contains(valid, id):
			code = "already_in_channel"
		case u.SingleChannelGuest && s.inAnyChannel(id):
			code = "ura_max_channels"
		case u.Guest || u.SingleChannelGuest:
			code = "user_is_restricted"
		}
		if code != "" {
			errs = append(errs, map[string]any{"user": id, "ok": false, "error": code})
			continue
		}
		valid = append(valid, id)
	}
	return valid, errs
}

// inAnyChannel reports whether a user is a member of a channel other than
// a direct message.
func (s *conversationsAPI) inAnyChannel(userID string) bool {
	for _, ch := range s.channels {
		if !ch.IM && slices.Contains(ch.Members, userID) {
			return true
		}
	}
	return false
}

func (s *conversationsAPI) conversationsKick(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	user := r.str("user")
	switch {
	case ch == nil:
		return fail("channel_not_found")
	case user == "":
		return fail("no_user")
	case user == s.cfg.botUserID:
		return fail("cant_kick_self")
	case s.users[user] == nil:
		return fail("user_not_found")
	case !slices.Contains(ch.Members, user):
		return fail("not_in_channel")
	}
	ch.Members = slices.DeleteFunc(ch.Members, func(m string) bool { return m == user })
	return ok(nil)
}

// setChannelText sets a channel's topic or purpose (arg) with set, and
// leaves the system message Slack posts for it (subtype, with say filling
// in its fields).
func (s *conversationsAPI) setChannelText(r *apiRequest, arg string, limit int, set func(*Channel, string), subtype string,
	say func(*Message, string)) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	value := r.str(arg)
	switch {
	case ch == nil:
		return fail("channel_not_found")
	case ch.Archived:
		return fail("is_archived")
	case !s.botIsMember(ch):
		return fail("not_in_channel")
	case utf8.RuneCountInString(value) > limit:
		return fail("too_long")
	}
	set(ch, value)
	if subtype != "" {
		m := &Message{Channel: ch.ID, TS: s.nextTS(), User: s.cfg.botUserID, Subtype: subtype}
		say(m, value)
		s.insertMessage(m)
	}
	return ok(result{"channel": s.channelJSON(ch)})
}

// conversationsSetTopic sets the topic, which leaves a channel_topic
// message ("set the channel topic: …") in the history, as in Slack.
func (s *conversationsAPI) conversationsSetTopic(r *apiRequest) result {
	return s.setChannelText(r, "topic", MaxTopic, func(c *Channel, v string) { c.Topic = v }, "channel_topic",
		func(m *Message, v string) { m.Topic, m.Text = v, "<@"+m.User+"> set the channel topic: "+v })
}

func (s *conversationsAPI) conversationsSetPurpose(r *apiRequest) result {
	return s.setChannelText(r, "purpose", MaxPurpose, func(c *Channel, v string) { c.Purpose = v }, "", nil)
}

func (s *conversationsAPI) conversationsArchive(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	switch {
	case ch == nil:
		return fail("channel_not_found")
	case ch.Archived:
		return fail("already_archived")
	case !s.botIsMember(ch):
		return fail("not_in_channel")
	}
	ch.Archived = true
	return ok(nil)
}

// tsWindow reads oldest/latest/inclusive into an inclusive micro-second range.
func tsWindow(r *apiRequest) (lo, hi int64, code string) {
	lo, hi = 0, 1<<62
	inclusive := r.boolean("inclusive")
	if v := r.str("oldest"); v != "" {
		t, valid := parseTS(v)
		if !valid {
			return 0, 0, "invalid_ts_oldest"
		}
		lo = t
		if !inclusive {
			lo++
		}
	}
	if v := r.str("latest"); v != "" {
		t, valid := parseTS(v)
		if !valid {
			return 0, 0, "invalid_ts_latest"
		}
		hi = t
		if !inclusive {
			hi--
		}
	}
	return lo, hi, ""
}

func inWindow(ts string, lo, hi int64) bool {
	t, _ := parseTS(ts)
	return t >= lo && t <= hi
}

// readableChannel applies the access rules of conversations.history/replies: a
// direct message needs the im:history scope, and a bot reads only channels it
// is a member of.
func (s *conversationsAPI) readableChannel(id string) (*Channel, string) {
	if strings.HasPrefix(id, "D") && s.cfg.withoutScope["im:history"] {
		return nil, "missing_scope"
	}
	ch := s.visibleChannel(id)
	if ch == nil {
		return nil, "channel_not_found"
	}
	if !s.botIsMember(ch) {
		return nil, "not_in_channel"
	}
	return ch, ""
}

func (s *conversationsAPI) conversationsHistory(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, code := s.readableChannel(r.str("channel"))
	if code != "" {
		return fail(code)
	}
	lo, hi, code := tsWindow(r)
	if code != "" {
		return fail(code)
	}
	var list []*Message
	msgs := s.messages[ch.ID]
	for i := len(msgs) - 1; i >= 0; i-- { // newest first, as Slack returns them
		if m := msgs[i]; !m.IsReply() && inWindow(m.TS, lo, hi) {
			list = append(list, m)
		}
	}
	return s.messagePage(r, list, MaxHistoryLimit, result{"pin_count": len(ch.Pins), "latest": r.str("latest")})
}

// conversationsReplies returns a thread oldest first. Like Slack, the parent message
// comes first on every page; limit counts the replies after it.
func (s *conversationsAPI) conversationsReplies(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, code := s.readableChannel(r.str("channel"))
	if code != "" {
		return fail(code)
	}
	parent := s.findMessage(ch.ID, r.str("ts"))
	if parent == nil {
		return fail("thread_not_found")
	}
	lo, hi, code := tsWindow(r)
	if code != "" {
		return fail(code)
	}
	var replies []*Message
	for _, m := range s.messages[ch.ID] {
		if m.IsReply() && m.ThreadTS == parent.TS && inWindow(m.TS, lo, hi) {
			replies = append(replies, m)
		}
	}
	res := s.messagePage(r, replies, MaxListLimit, nil)
	if res["ok"] == true {
		res["messages"] = append([]map[string]any{s.messageJSON(parent)}, res["messages"].([]map[string]any)...)
	}
	return res
}

func (s *conversationsAPI) messagePage(r *apiRequest, list []*Message, maxLimit int, extra result) result {
	cursorKey, valid := cursorArg(r, "next_ts")
	if !valid {
		return fail("invalid_cursor")
	}
	items, next, valid := page(list, cursorKey, limitArg(r, 100, maxLimit), func(m *Message) string { return m.TS })
	if !valid {
		return fail("invalid_cursor")
	}
	out := make([]map[string]any, 0, len(items))
	for _, m := range items {
		mj := s.messageJSON(m)
		if !r.boolean("include_all_metadata") {
			// Slack returns message metadata only when asked.
			delete(mj, "metadata")
		}
		out = append(out, mj)
	}
	res := ok(result{"messages": out, "has_more": next != "", "response_metadata": map[string]any{"next_cursor": nextCursor("next_ts", next)}})
	for k, v := range extra {
		res[k] = v
	}
	return res
}

// dmWith returns the bot's direct-message channel with a user, opening it if needed,
// and whether it already existed.
func (s *world) dmWith(userID string) (*Channel, bool) {
	if id, ok := s.dmByUser[userID]; ok {
		return s.channels[id], true
	}
	ch := &Channel{ID: s.nextID("D"), Private: true, IM: true, Members: []string{s.cfg.botUserID, userID}, Created: s.cfg.now()}
	s.channels[ch.ID] = ch
	s.channelOrder = append(s.channelOrder, ch.ID)
	s.indexChannel(ch)
	return ch, false
}

// conversationsOpen opens a direct message with one user; group DMs are not faked.
func (s *conversationsAPI) conversationsOpen(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id := r.str("channel"); id != "" {
		ch := s.visibleChannel(id)
		if ch == nil || !ch.IM {
			return fail("channel_not_found")
		}
		return ok(result{"channel": s.channelJSON(ch), "no_op": true, "already_open": true})
	}
	users := strings.Split(r.str("users"), ",")
	switch {
	case r.str("users") == "":
		return fail("users_list_not_supplied")
	case len(users) > 1:
		return fail("not_supported")
	}
	u := s.users[strings.TrimSpace(users[0])]
	if u == nil || u.Deleted {
		return fail("user_not_found")
	}
	ch, existed := s.dmWith(u.ID)
	return ok(result{"channel": s.channelJSON(ch), "no_op": existed, "already_open": existed})
}

// writableChannel applies chat.postMessage's access rules. A user id opens (or
// reuses) the bot's direct message with that user, as Slack does.
func (s *chatAPI) writableChannel(idOrName string) (*Channel, string) {
	ch := s.lookupChannel(idOrName)
	if ch == nil {
		if u := s.users[idOrName]; u != nil && !u.Deleted && !u.IsBot {
			ch, _ = s.dmWith(u.ID)
		}
	}
	if ch != nil {
		ch = s.visibleChannel(ch.ID)
	}
	switch {
	case ch == nil:
		return nil, "channel_not_found"
	case ch.Archived:
		return nil, "is_archived"
	case !s.botIsMember(ch) && (ch.Private || !s.cfg.publicWrite):
		return nil, "not_in_channel"
	}
	return ch, ""
}

func messageArgs(r *apiRequest) (text string, blocks, attachments, metadata json.RawMessage) {
	blocks, attachments, metadata = r.jsonArg("blocks"), r.jsonArg("attachments"), r.jsonArg("metadata")
	if isJSONNull(blocks) {
		blocks = nil
	}
	if isJSONNull(attachments) {
		attachments = nil
	}
	if isJSONNull(metadata) {
		metadata = nil
	}
	return r.str("text"), blocks, attachments, metadata
}

// validateMetadata checks a message's metadata as Slack documents it
// (https://docs.slack.dev/messaging/message-metadata): a JSON object whose
// event_type is a non-empty string and whose event_payload is an object.
// Anything but an object is invalid_metadata_format; an object of another
// shape is invalid_metadata_schema.
func validateMetadata(metadata json.RawMessage) string {
	if metadata == nil {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(metadata, &m) != nil || m == nil {
		return "invalid_metadata_format"
	}
	var eventType string
	if json.Unmarshal(m["event_type"], &eventType) != nil || strings.TrimSpace(eventType) == "" {
		return "invalid_metadata_schema"
	}
	var payload map[string]json.RawMessage
	if json.Unmarshal(m["event_payload"], &payload) != nil || payload == nil {
		return "invalid_metadata_schema"
	}
	return ""
}

// chatPostMessage posts as the bot. A thread_ts that names no message is accepted
// and kept, as Slack does not document an error for it.
func (s *chatAPI) chatPostMessage(r *apiRequest) result {
	text, blocks, attachments, metadata := messageArgs(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, code := s.writableChannel(r.str("channel"))
	if code != "" {
		return fail(code)
	}
	if code, msgs := validatePostedMessage(text, blocks, attachments); code != "" {
		return failWithMessages(code, msgs)
	}
	if code := validateMetadata(metadata); code != "" {
		return fail(code)
	}
	m := &Message{
		Channel: ch.ID, TS: s.nextTS(), ThreadTS: r.str("thread_ts"), User: s.cfg.botUserID, BotID: s.cfg.botID,
		Text: text, Blocks: bytes.Clone(blocks), Attachments: bytes.Clone(attachments), Metadata: bytes.Clone(metadata),
	}
	s.insertMessage(m)
	return ok(result{"channel": ch.ID, "ts": m.TS, "message": s.messageJSON(m)})
}

func (s *chatAPI) chatPostEphemeral(r *apiRequest) result {
	text, blocks, attachments, _ := messageArgs(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, code := s.writableChannel(r.str("channel"))
	if code != "" {
		return fail(code)
	}
	user := r.str("user")
	switch {
	case s.users[user] == nil:
		return fail("user_not_found")
	case !slices.Contains(ch.Members, user):
		return fail("user_not_in_channel")
	}
	if code, msgs := validatePostedMessage(text, blocks, attachments); code != "" {
		return failWithMessages(code, msgs)
	}
	ts := s.nextTS()
	s.ephemerals = append(s.ephemerals, Ephemeral{
		Channel: ch.ID, User: user, TS: ts, ThreadTS: r.str("thread_ts"), Text: text,
		Blocks: bytes.Clone(blocks), Via: "chat.postEphemeral",
	})
	return ok(result{"message_ts": ts})
}

// chatUpdate follows Slack's documented rule: text without blocks removes the old
// blocks; neither keeps the message as it was.
func (s *chatAPI) chatUpdate(r *apiRequest) result {
	text, blocks, attachments, _ := messageArgs(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	if ch == nil {
		return fail("channel_not_found")
	}
	m := s.findMessage(ch.ID, r.str("ts"))
	switch {
	case m == nil:
		return fail("message_not_found")
	case m.User != s.cfg.botUserID:
		return fail("cant_update_message")
	case ch.Archived:
		return fail("is_inactive")
	}
	if text == "" && blocks == nil && attachments == nil {
		return fail("no_text")
	}
	if code, msgs := validatePostedMessage(text, blocks, attachments); code != "" {
		return failWithMessages(code, msgs)
	}
	if r.has("text") {
		m.Text = text
	}
	switch {
	case blocks != nil:
		m.Blocks = bytes.Clone(blocks)
	case r.has("text"):
		m.Blocks = nil
	}
	if attachments != nil {
		m.Attachments = bytes.Clone(attachments)
	}
	m.EditedTS = s.nextTS()
	return ok(result{"channel": ch.ID, "ts": m.TS, "text": m.Text, "message": s.messageJSON(m)})
}

func (s *chatAPI) chatDelete(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	if ch == nil {
		return fail("channel_not_found")
	}
	m := s.findMessage(ch.ID, r.str("ts"))
	switch {
	case m == nil:
		return fail("message_not_found")
	case m.User != s.cfg.botUserID:
		return fail("cant_delete_message")
	}
	s.deleteMessage(ch.ID, m.TS)
	return ok(result{"channel": ch.ID, "ts": r.str("ts")})
}

func (s *world) deleteMessage(channelID, ts string) {
	s.messages[channelID] = slices.DeleteFunc(s.messages[channelID], func(m *Message) bool { return m.TS == ts })
	if ch := s.channels[channelID]; ch != nil {
		ch.Pins = slices.DeleteFunc(ch.Pins, func(p string) bool { return p == ts })
	}
}

func (s *chatAPI) chatGetPermalink(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	if ch == nil {
		return fail("channel_not_found")
	}
	m := s.findMessage(ch.ID, r.str("message_ts"))
	if m == nil {
		return fail("message_not_found")
	}
	link := fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", s.cfg.teamDomain, ch.ID, strings.ReplaceAll(m.TS, ".", ""))
	if m.IsReply() {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch.ID
	}
	return ok(result{"channel": ch.ID, "permalink": link})
}

func (s *chatAPI) pinsAdd(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	ts := r.str("timestamp")
	switch {
	case ch == nil:
		return fail("channel_not_found")
	case ts == "":
		return fail("no_item_specified")
	case !s.botIsMember(ch):
		return fail("not_in_channel")
	case s.findMessage(ch.ID, ts) == nil:
		return fail("message_not_found")
	case slices.Contains(ch.Pins, ts):
		return fail("already_pinned")
	}
	ch.Pins = append(ch.Pins, ts)
	return ok(nil)
}

func (s *chatAPI) pinsList(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	if ch == nil {
		return fail("channel_not_found")
	}
	items := make([]map[string]any, 0, len(ch.Pins))
	for _, ts := range ch.Pins {
		if m := s.findMessage(ch.ID, ts); m != nil {
			items = append(items, map[string]any{
				"type": "message", "channel": ch.ID, "created_by": s.cfg.botUserID, "message": s.messageJSON(m),
			})
		}
	}
	return ok(result{"items": items})
}

func (s *bookmarksAPI) bookmarkJSON(b Bookmark) map[string]any {
	return map[string]any{
		"id": b.ID, "channel_id": b.ChannelID, "title": b.Title, "link": b.Link, "emoji": b.Emoji,
		"icon_url": "", "type": b.Type, "date_created": b.Created.Unix(), "date_updated": 0,
		"rank": "", "last_updated_by_user_id": s.cfg.botUserID, "last_updated_by_team_id": s.cfg.teamID,
		"shortcut_id": "", "entity_id": "", "app_id": s.cfg.appID,
	}
}

func (s *bookmarksAPI) bookmarksAdd(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel_id"))
	link := r.str("link")
	switch {
	case ch == nil:
		return fail("channel_not_found")
	case r.str("title") == "":
		return fail("invalid_arguments")
	case r.str("type") != "link":
		return fail("invalid_bookmark_type")
	case !strings.HasPrefix(link, "http://") && !strings.HasPrefix(link, "https://"):
		return fail("invalid_link")
	case len(ch.Bookmarks) >= s.cfg.bookmarkLimit:
		return fail("too_many_bookmarks")
	}
	b := Bookmark{
		ID: s.nextID("Bk"), ChannelID: ch.ID, Title: r.str("title"), Type: "link", Link: link,
		Emoji: r.str("emoji"), Created: r.now,
	}
	ch.Bookmarks = append(ch.Bookmarks, b)
	return ok(result{"bookmark": s.bookmarkJSON(b)})
}

func (s *bookmarksAPI) bookmarksList(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel_id"))
	if ch == nil {
		return fail("channel_not_found")
	}
	out := make([]map[string]any, 0, len(ch.Bookmarks))
	for _, b := range ch.Bookmarks {
		out = append(out, s.bookmarkJSON(b))
	}
	return ok(result{"bookmarks": out})
}

func (s *chatAPI) reactionsAdd(r *apiRequest) result {
	name := strings.Trim(r.str("name"), ":")
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.visibleChannel(r.str("channel"))
	ts := r.str("timestamp")
	switch {
	case ch == nil:
		return fail("channel_not_found")
	case ts == "":
		return fail("no_item_specified")
	case name == "" || strings.ContainsAny(name, " :"):
		return fail("invalid_name")
	}
	m := s.findMessage(ch.ID, ts)
	if m == nil {
		return fail("message_not_found")
	}
	i := slices.IndexFunc(m.Reactions, func(x Reaction) bool { return x.Name == name })
	if i < 0 {
		m.Reactions = append(m.Reactions, Reaction{Name: name})
		i = len(m.Reactions) - 1
	}
	if slices.Contains(m.Reactions[i].Users, s.cfg.botUserID) {
		return fail("already_reacted")
	}
	m.Reactions[i].Users = append(m.Reactions[i].Users, s.cfg.botUserID)
	return ok(nil)
}

func (s *directoryAPI) usersInfo(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[r.str("user")]
	if u == nil {
		return fail("user_not_found")
	}
	return ok(result{"user": s.userJSON(u)})
}

// usersList pages through every user of the workspace, deactivated ones and
// bots included, as users.list does.
func (s *directoryAPI) usersList(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*User
	for _, id := range s.userOrder {
		if u := s.users[id]; u.TeamID == "" || u.TeamID == s.cfg.teamID {
			list = append(list, u)
		}
	}
	cursorKey, valid := cursorArg(r, "user")
	if !valid {
		return fail("invalid_cursor")
	}
	items, next, valid := page(list, cursorKey, limitArg(r, 100, MaxListLimit), func(u *User) string { return u.ID })
	if !valid {
		return fail("invalid_cursor")
	}
	out := make([]map[string]any, 0, len(items))
	for _, u := range items {
		out = append(out, s.userJSON(u))
	}
	return ok(result{"members": out, "cache_ts": s.cfg.now().Unix(), "response_metadata": map[string]any{"next_cursor": nextCursor("user", next)}})
}

func (s *directoryAPI) usersLookupByEmail(r *apiRequest) result {
	email := strings.TrimSpace(r.str("email"))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.userOrder {
		u := s.users[id]
		if email != "" && strings.EqualFold(u.Email, email) && !u.Deleted {
			return ok(result{"user": s.userJSON(u)})
		}
	}
	return fail("users_not_found")
}

func (s *directoryAPI) usergroupJSON(g *UserGroup, withUsers bool) map[string]any {
	out := map[string]any{
		"id": g.ID, "team_id": s.cfg.teamID, "is_usergroup": true, "name": g.Name, "handle": g.Handle,
		"description": "", "user_count": len(g.Users),
	}
	if withUsers {
		out["users"] = slices.Clone(g.Users)
	}
	return out
}

func (s *directoryAPI) usergroupsList(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(s.groupOrder))
	for _, id := range s.groupOrder {
		out = append(out, s.usergroupJSON(s.groups[id], r.boolean("include_users")))
	}
	return ok(result{"usergroups": out})
}

func (s *directoryAPI) usergroupsUsersList(r *apiRequest) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[r.str("usergroup")]
	if g == nil {
		return fail("no_such_subteam")
	}
	return ok(result{"users": slices.Clone(g.Users)})
}
