package slackfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// User is a workspace member.
type User struct {
	ID       string
	Name     string // the handle, e.g. "alice"
	RealName string
	// DisplayName is what the profile shows; empty means Name.
	DisplayName string
	Email       string
	IsBot       bool
	Deleted     bool
	// Guest makes the user a multi-channel guest; SingleChannelGuest a
	// single-channel guest.
	Guest              bool
	SingleChannelGuest bool
	TZ                 string // IANA zone, e.g. "Europe/Paris"; empty means UTC
	// TeamID is the workspace the person signs in from with Sign in with
	// Slack, and the one their clicks carry as user.team_id; empty means
	// the fake's own workspace. Another workspace's people are not members
	// of the fake's own (conversations.invite refuses them).
	TeamID string
	// EnterpriseID is the Enterprise Grid organisation the person is a
	// member of: users.info gives it as enterprise_user.enterprise_id
	// (with TeamID, or the fake's own workspace, as their one team). Empty
	// means no organisation, and no enterprise_user.
	EnterpriseID string
	// Stranger marks a person of another organisation seen in a Slack
	// Connect channel: users.info answers is_stranger true.
	Stranger bool
}

// UserGroup is a user group (a "subteam", @handle).
type UserGroup struct {
	ID     string
	Handle string
	Name   string
	Users  []string
}

// Channel is a public or private channel.
type Channel struct {
	ID        string
	Name      string
	Private   bool
	IM        bool // a direct message between the bot and Members[1]
	Archived  bool
	Members   []string // user ids; include BotUserID() for channels the bot is in
	Topic     string
	Purpose   string
	Creator   string
	Created   time.Time
	Pins      []string // ts of pinned messages, in pin order
	Bookmarks []Bookmark
}

// Bookmark is a channel bookmark.
type Bookmark struct {
	ID        string
	ChannelID string
	Title     string
	Type      string
	Link      string
	Emoji     string
	Created   time.Time
}

// Message is a message in a channel (a thread reply when ThreadTS differs from TS).
type Message struct {
	Channel     string
	TS          string
	ThreadTS    string // empty for a message that is neither a thread parent nor a reply
	User        string
	BotID       string // set for messages posted with the bot token
	Text        string
	Blocks      json.RawMessage
	Attachments json.RawMessage
	Metadata    json.RawMessage
	EditedTS    string // set by chat.update
	ReplyCount  int
	Reactions   []Reaction
	// Subtype is "" for what a person or an app says; a system message
	// Slack keeps in the history has its own ("channel_join",
	// "channel_topic", "pinned_item", "bot_add" ...), as does the hidden
	// "tombstone" Slack leaves in place of a deleted thread parent with
	// replies.
	Subtype string
	// The fields a system message carries by subtype, as Slack documents
	// them: Inviter (channel_join, when invited), Topic (channel_topic),
	// Purpose (channel_purpose), OldName and Name (channel_name), BotLink
	// (bot_add, with BotID the bot added).
	Inviter, Topic, Purpose, OldName, Name, BotLink string
	// Files is the message's files array as Slack gives it (file objects,
	// or only id and mode for a file deleted or hidden since), for a
	// message that shares files.
	Files json.RawMessage
}

// IsReply reports whether the message is a thread reply.
func (m Message) IsReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// Reaction is one emoji reaction on a message.
type Reaction struct {
	Name  string
	Users []string
}

// Ephemeral is a message only one user saw, from chat.postEphemeral or an ephemeral
// response_url post.
type Ephemeral struct {
	Channel  string
	User     string
	TS       string
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
	Via      string // "chat.postEphemeral" or "response_url"
}

// View is a modal view opened by the bot.
type View struct {
	ID              string
	RootViewID      string
	PreviousViewID  string
	ExternalID      string
	CallbackID      string
	PrivateMetadata string
	Title           string
	Hash            string
	UserID          string // the user the trigger was issued for
	// JSON is the view object as the app last set it (views.open/push/update or a
	// response_action), with the fields Slack adds (id, hash, state...).
	JSON json.RawMessage
	// Open is false once the view was closed (submitted with an empty ack, cleared...).
	Open bool
	// Errors holds the last response_action "errors" the app returned for this view.
	Errors map[string]string
	// ErrorKeysNotInput lists keys of Errors that are not the block_id of an input
	// block; real Slack ignores those and shows the user a generic error instead.
	ErrorKeysNotInput []string
}

func (s *world) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%08X", prefix, s.seq)
}

// nextTS issues a message ts from the clock, strictly increasing even when the clock
// stands still, as Slack's are unique per channel.
func (s *world) nextTS() string {
	us := s.cfg.now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return formatTS(us)
}

func formatTS(us int64) string { return fmt.Sprintf("%d.%06d", us/1e6, us%1e6) }

// parseTS reads a Slack ts ("1700000000.000100", "1700000000" or "1700000000.5") as
// micro-seconds since the epoch.
func parseTS(ts string) (int64, bool) {
	secPart, frac, _ := strings.Cut(ts, ".")
	sec, err := strconv.ParseInt(secPart, 10, 64)
	if err != nil || sec < 0 {
		return 0, false
	}
	if len(frac) > 6 {
		frac = frac[:6]
	}
	var us int64
	if frac != "" {
		frac += strings.Repeat("0", 6-len(frac))
		us, err = strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, false
		}
	}
	return sec*1e6 + us, true
}

// AddUser adds a user (an id is assigned when ID is empty) and returns it.
func (s *world) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = s.nextID("U")
	}
	if _, exists := s.users[u.ID]; !exists {
		s.userOrder = append(s.userOrder, u.ID)
	}
	cp := u
	s.users[u.ID] = &cp
	return u
}

// User returns a user by id.
func (s *world) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// AddUserGroup adds a user group (an id is assigned when ID is empty) and returns it.
func (s *world) AddUserGroup(g UserGroup) UserGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.ID == "" {
		g.ID = s.nextID("S")
	}
	if _, exists := s.groups[g.ID]; !exists {
		s.groupOrder = append(s.groupOrder, g.ID)
	}
	cp := g
	cp.Users = slices.Clone(g.Users)
	s.groups[g.ID] = &cp
	return g
}

// AddChannel adds a channel (an id is assigned when ID is empty; Created defaults to
// now) and returns it. The bot is a member only if Members lists BotUserID().
func (s *world) AddChannel(c Channel) Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		c.ID = s.nextID("C")
	}
	if c.Created.IsZero() {
		c.Created = s.cfg.now()
	}
	if old, exists := s.channels[c.ID]; !exists {
		s.channelOrder = append(s.channelOrder, c.ID)
	} else if s.channelByName[old.Name] == c.ID {
		delete(s.channelByName, old.Name)
	}
	s.channels[c.ID] = cloneChannel(&c)
	s.indexChannel(s.channels[c.ID])
	return *cloneChannel(&c)
}

// indexChannel records ch in the lookups by name and, for a direct message,
// by its members other than the bot; the first channel indexed under a key
// keeps it, as a walk in creation order would find it first.
func (s *world) indexChannel(ch *Channel) {
	if _, taken := s.channelByName[ch.Name]; ch.Name != "" && !taken {
		s.channelByName[ch.Name] = ch.ID
	}
	if !ch.IM {
		return
	}
	for _, u := range ch.Members {
		if _, taken := s.dmByUser[u]; !taken {
			s.dmByUser[u] = ch.ID
		}
	}
}

// AddMember adds a user to a channel, as if they had joined it themselves.
func (s *world) AddMember(channelID, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channelID]
	if !ok {
		return false
	}
	if !slices.Contains(ch.Members, userID) {
		ch.Members = append(ch.Members, userID)
		s.indexChannel(ch)
	}
	return true
}

func cloneChannel(c *Channel) *Channel {
	cp := *c
	cp.Members = slices.Clone(c.Members)
	cp.Pins = slices.Clone(c.Pins)
	cp.Bookmarks = slices.Clone(c.Bookmarks)
	return &cp
}

// Channel returns a channel by id, or by name (with or without a leading '#').
func (s *world) Channel(idOrName string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupChannel(idOrName)
	if ch == nil {
		return Channel{}, false
	}
	return *cloneChannel(ch), true
}

// Channels returns every channel in creation order.
func (s *world) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, 0, len(s.channelOrder))
	for _, id := range s.channelOrder {
		out = append(out, *cloneChannel(s.channels[id]))
	}
	return out
}

func (s *world) lookupChannel(idOrName string) *Channel {
	if ch, ok := s.channels[idOrName]; ok {
		return ch
	}
	name := strings.TrimPrefix(idOrName, "#")
	if name == "" {
		return nil
	}
	if id, ok := s.channelByName[name]; ok {
		return s.channels[id]
	}
	return nil
}

// AddMessage stores a message as if a user had posted it (for seeding history), and
// returns it with its ts. TS is assigned when empty; Channel must exist.
func (s *world) AddMessage(m Message) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[m.Channel]; !ok {
		return Message{}, false
	}
	if m.TS == "" {
		m.TS = s.nextTS()
	}
	stored := cloneMessage(&m)
	s.insertMessage(stored)
	return *cloneMessage(stored), true
}

func (s *world) insertMessage(m *Message) {
	msgs := s.messages[m.Channel]
	us, _ := parseTS(m.TS)
	i, _ := slices.BinarySearchFunc(msgs, us, func(e *Message, t int64) int {
		eu, _ := parseTS(e.TS)
		switch {
		case eu < t:
			return -1
		case eu > t:
			return 1
		}
		return 0
	})
	s.messages[m.Channel] = slices.Insert(msgs, i, m)
	if m.IsReply() {
		if parent := s.findMessage(m.Channel, m.ThreadTS); parent != nil {
			parent.ReplyCount++
			if parent.ThreadTS == "" {
				parent.ThreadTS = parent.TS
			}
		}
	}
}

func (s *world) findMessage(channelID, ts string) *Message {
	for _, m := range s.messages[channelID] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

func cloneMessage(m *Message) *Message {
	cp := *m
	cp.Blocks = slices.Clone(m.Blocks)
	cp.Attachments = slices.Clone(m.Attachments)
	cp.Metadata = slices.Clone(m.Metadata)
	cp.Files = slices.Clone(m.Files)
	cp.Reactions = make([]Reaction, len(m.Reactions))
	for i, r := range m.Reactions {
		cp.Reactions[i] = Reaction{Name: r.Name, Users: slices.Clone(r.Users)}
	}
	return &cp
}

// Messages returns every message in a channel, thread replies included, oldest first.
func (s *world) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channelID]))
	for _, m := range s.messages[channelID] {
		out = append(out, *cloneMessage(m))
	}
	return out
}

// Thread returns a thread's parent followed by its replies, oldest first.
func (s *world) Thread(channelID, threadTS string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[channelID] {
		if m.TS == threadTS || m.ThreadTS == threadTS {
			out = append(out, *cloneMessage(m))
		}
	}
	return out
}

// Message returns one message by channel and ts.
func (s *world) Message(channelID, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.findMessage(channelID, ts)
	if m == nil {
		return Message{}, false
	}
	return *cloneMessage(m), true
}

// Ephemerals returns the ephemeral messages shown in a channel ("" for all), oldest first.
func (s *world) Ephemerals(channelID string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ephemeral
	for _, e := range s.ephemerals {
		if channelID == "" || e.Channel == channelID {
			e.Blocks = slices.Clone(e.Blocks)
			out = append(out, e)
		}
	}
	return out
}

// View returns a view by id.
func (s *modals) View(id string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[id]
	if !ok {
		return View{}, false
	}
	return cloneView(v), true
}

// Views returns every view ever opened or pushed, in creation order.
func (s *modals) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.viewOrder))
	for _, id := range s.viewOrder {
		out = append(out, cloneView(s.views[id]))
	}
	return out
}

// OpenViews returns the views currently open (on any stack), in creation order.
func (s *modals) OpenViews() []View {
	var out []View
	for _, v := range s.Views() {
		if v.Open {
			out = append(out, v)
		}
	}
	return out
}

func cloneView(v *View) View {
	cp := *v
	cp.JSON = slices.Clone(v.JSON)
	if v.Errors != nil {
		cp.Errors = make(map[string]string, len(v.Errors))
		for k, e := range v.Errors {
			cp.Errors[k] = e
		}
	}
	cp.ErrorKeysNotInput = slices.Clone(v.ErrorKeysNotInput)
	return cp
}

// UserChangeEvent returns the user_change event Slack sends when a user's
// data changes (made a guest, deactivated, a profile edit), in the Events
// API's shape: the whole user object, as users.info gives it. The bool is
// false when there is no such user.
func (s *world) UserChangeEvent(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, false
	}
	now := s.cfg.now()
	return map[string]any{"type": "user_change", "user": (&directoryAPI{s}).userJSON(u), "cache_ts": now.Unix(),
		"event_ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)}, true
}
