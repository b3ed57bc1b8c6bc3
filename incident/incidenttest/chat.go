package incidenttest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

var (
	_ incident.ChannelSetup = (*Chat)(nil)
	_ incident.Directory    = (*Chat)(nil)
	_ incident.PanelPoster  = (*Chat)(nil)
	_ incident.NoticePoster = (*Chat)(nil)
	_ incident.ChatHistory  = (*Chat)(nil)
	_ incident.ChangePoster = (*Chat)(nil)
)

// Chat is the one in-memory chat of the tests, in every role of an
// incident.Chat (see Roles): it records what it was asked, in exported
// fields a test reads under Mu, and fails on demand.
// Channel ids are C001, C002...; user ids starting with U resolve to
// themselves, other references through Users; e-mail addresses and names
// derive from the id (U0ALICE is alice@example.com) unless Names is set.
type Chat struct {
	Mu          sync.Mutex
	Channels    map[string]string // name -> id
	Own         map[string]bool   // ids the bot created
	Topics      map[string]string
	Bookmarks   map[string][]string
	Members     map[string][]string
	Posts       map[string][]string
	Panels      map[string]int // ts -> updates
	Pins        []string
	Announced   []string
	Replies     []string
	Nags        []string
	Messages    map[string][]incident.ChatMessage
	ChangeLists []incident.ChangeList
	Calls       []string
	// Edits counts the posts UpdateNotice changed.
	Edits int
	// Fail makes the named method fail this many more times.
	Fail map[string]int
	// Refuse makes the named method fail with this error every time, as
	// Slack refuses a post in an archived channel, until it is removed.
	Refuse map[string]error
	// CreatedButFailed makes CreateChannel create the channel and then
	// report a failure, as a timeout after Slack acted does.
	CreatedButFailed int
	Users            map[string][]string // ref -> ids
	// Names, when set, answers UserName (ENOTFOUND for anyone else);
	// Lookups counts the UserName calls per user.
	Names   map[string]string
	Lookups map[string]int
	// RefuseInvite makes Invite refuse these users, with the reason
	// given (user id -> code), inviting the others, as Slack refuses a
	// guest.
	RefuseInvite map[string]string
	// AllMembers makes everyone a member of every channel.
	AllMembers bool
	// Guests are the users who are guests of the workspace.
	Guests map[string]bool
	// Word renders a notice for Notify; nil uses Notice.String.
	Word func(incident.Notice) string
}

// Roles is c in every role. A type that embeds *Chat to change some of its
// methods fills the roles with itself instead, or Roles would bypass them.
func (c *Chat) Roles() incident.Chat {
	return incident.Chat{ChannelSetup: c, Directory: c, PanelPoster: c, NoticePoster: c, ChatHistory: c, ChangePoster: c}
}

// NewChat returns an empty Chat.
func NewChat() *Chat {
	return &Chat{Channels: map[string]string{}, Own: map[string]bool{}, Topics: map[string]string{}, Bookmarks: map[string][]string{},
		Members: map[string][]string{}, Posts: map[string][]string{}, Panels: map[string]int{}, Fail: map[string]int{}, Refuse: map[string]error{},
		Users: map[string][]string{}, Messages: map[string][]incident.ChatMessage{}, Lookups: map[string]int{}}
}

func (c *Chat) failing(method string) error {
	c.Calls = append(c.Calls, method)
	if err := c.Refuse[method]; err != nil {
		return err
	}
	if c.Fail[method] > 0 {
		c.Fail[method]--
		return incident.Errorf(incident.EUNAVAILABLE, "Slack is not responding (%s)", method)
	}
	return nil
}

func (c *Chat) CreateChannel(_ context.Context, name string, _ bool) (string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("create"); err != nil {
		return "", err
	}
	if _, ok := c.Channels[name]; ok {
		return "", incident.Errorf(incident.ECONFLICT, "name_taken")
	}
	id := fmt.Sprintf("C%03d", len(c.Channels)+1)
	c.Channels[name] = id
	c.Own[id] = true
	if c.CreatedButFailed > 0 {
		c.CreatedButFailed--
		return "", incident.Errorf(incident.EUNAVAILABLE, "timeout")
	}
	return id, nil
}

func (c *Chat) FindChannel(_ context.Context, name string, _ bool) (string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if id, ok := c.Channels[name]; ok && c.Own[id] {
		return id, nil
	}
	return "", incident.Errorf(incident.ENOTFOUND, "no such channel")
}

func (c *Chat) SetTopic(_ context.Context, ch string, n incident.Notice) error {
	topic := n.String()
	if c.Word != nil {
		topic = c.Word(n)
	}
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("topic"); err != nil {
		return err
	}
	c.Topics[ch] = topic
	return nil
}

func (c *Chat) AddBookmark(_ context.Context, ch, title, link string) error {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("bookmark"); err != nil {
		return err
	}
	c.Bookmarks[ch] = append(c.Bookmarks[ch], title+" "+link)
	return nil
}

func (c *Chat) ResolveUsers(_ context.Context, refs []string) ([]string, []string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	var ids, missing []string
	for _, r := range refs {
		switch {
		case c.Users[r] != nil:
			ids = append(ids, c.Users[r]...)
		case strings.HasPrefix(r, "U"):
			ids = append(ids, r)
		default:
			missing = append(missing, r)
		}
	}
	return ids, missing, nil
}

func (c *Chat) Invite(_ context.Context, ch string, users []string) error {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("invite"); err != nil {
		return err
	}
	var refused []incident.InviteRefusal
	for _, u := range users {
		if code, ok := c.RefuseInvite[u]; ok {
			refused = append(refused, incident.InviteRefusal{User: u, Code: code})
			continue
		}
		if !slices.Contains(c.Members[ch], u) {
			c.Members[ch] = append(c.Members[ch], u)
		}
	}
	if len(refused) > 0 {
		return &incident.InviteRefusedError{Refused: refused}
	}
	return nil
}

func (c *Chat) IsMember(_ context.Context, ch, user string) (bool, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	c.Calls = append(c.Calls, "is_member")
	return c.AllMembers || slices.Contains(c.Members[ch], user), nil
}

func (c *Chat) PostPanel(_ context.Context, inc *incident.Incident) (string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("panel"); err != nil {
		return "", err
	}
	// Shaped as Slack's: seconds at the declare, then a counter.
	ts := fmt.Sprintf("%d.%06d", inc.DeclaredAt.Unix(), len(c.Panels)+1)
	c.Panels[ts] = 0
	return ts, nil
}

func (c *Chat) UpdatePanel(_ context.Context, inc *incident.Incident) error {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("update_panel"); err != nil {
		return err
	}
	c.Panels[inc.PanelTS]++
	return nil
}

func (c *Chat) Pin(_ context.Context, _, ts string) error {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("pin"); err != nil {
		return err
	}
	if !slices.Contains(c.Pins, ts) {
		c.Pins = append(c.Pins, ts)
	}
	return nil
}

func (c *Chat) Announce(_ context.Context, channel string, inc *incident.Incident) (string, string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("announce"); err != nil {
		return "", "", err
	}
	c.Announced = append(c.Announced, inc.Key())
	return "CBROADCAST", "ann-" + inc.Key(), nil
}

func (c *Chat) UpdateAnnouncement(_ context.Context, channelID, ts string, _ *incident.Incident) error {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	return c.failing("update_announcement")
}

func (c *Chat) PostNag(_ context.Context, ch string, _ *incident.Incident, n incident.Notice) (string, error) {
	text := n.String()
	if c.Word != nil {
		text = c.Word(n)
	}
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("nag"); err != nil {
		return "", err
	}
	c.Nags = append(c.Nags, text)
	return fmt.Sprint(len(c.Nags)), nil
}

func (c *Chat) PostButtons(_ context.Context, ch, text string, buttons []incident.Button) (string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("buttons"); err != nil {
		return "", err
	}
	for _, b := range buttons {
		text += " [" + b.Text + ":" + b.Action + "=" + b.Value + "]"
	}
	c.Posts[ch] = append(c.Posts[ch], text)
	return fmt.Sprint(len(c.Posts[ch])), nil
}

func (c *Chat) UserEmail(_ context.Context, user string) (string, error) {
	return strings.ToLower(strings.TrimPrefix(user, "U0")) + "@example.com", nil
}

func (c *Chat) UserName(_ context.Context, user string) (string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if c.Lookups == nil {
		c.Lookups = map[string]int{}
	}
	c.Lookups[user]++
	if c.Names != nil {
		if n, ok := c.Names[user]; ok {
			return n, nil
		}
		return "", incident.Errorf(incident.ENOTFOUND, "user_not_found")
	}
	return strings.ToLower(strings.TrimPrefix(user, "U0")), nil
}

func (c *Chat) IsGuest(_ context.Context, user string) (bool, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("guest"); err != nil {
		return false, err
	}
	return c.Guests[user], nil
}

func (c *Chat) UserChannels(_ context.Context, user string) ([]string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("user_channels"); err != nil {
		return nil, err
	}
	var out []string
	for id, members := range c.Members {
		if slices.Contains(members, user) {
			out = append(out, id)
		}
	}
	if c.AllMembers {
		for _, id := range c.Channels {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (c *Chat) History(_ context.Context, ch string, oldest time.Time) ([]incident.ChatMessage, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("history"); err != nil {
		return nil, err
	}
	return append([]incident.ChatMessage(nil), c.Messages[ch]...), nil
}

func (c *Chat) PostChanges(_ context.Context, ch string, _ *incident.Incident, list incident.ChangeList) (string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("changes"); err != nil {
		return "", err
	}
	c.ChangeLists = append(c.ChangeLists, list)
	return fmt.Sprint(len(c.ChangeLists)), nil
}

func (c *Chat) Post(_ context.Context, ch, text string) (string, error) {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("post"); err != nil {
		return "", err
	}
	c.Posts[ch] = append(c.Posts[ch], text)
	return fmt.Sprint(len(c.Posts[ch])), nil
}

func (c *Chat) Notify(ctx context.Context, ch string, n incident.Notice) (string, error) {
	text := n.String()
	if c.Word != nil {
		text = c.Word(n)
	}
	if len(n.Buttons) > 0 {
		return c.PostButtons(ctx, ch, text, n.Buttons)
	}
	return c.Post(ctx, ch, text)
}

// UpdateNotice redraws the post at ts (its number in the channel) as the
// notice, worded by Word, in place; an edit that changes nothing is not
// made. Edits counts the edits made.
func (c *Chat) UpdateNotice(_ context.Context, ch, ts string, n incident.Notice) error {
	text := n.String()
	if c.Word != nil {
		text = c.Word(n)
	}
	for _, b := range n.Buttons {
		text += " [" + b.Text + ":" + b.Action + "=" + b.Value + "]"
	}
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.failing("update_notice"); err != nil {
		return err
	}
	var i int
	if _, err := fmt.Sscan(ts, &i); err != nil || i < 1 || i > len(c.Posts[ch]) {
		return incident.Errorf(incident.ENOTFOUND, "No message %s in %s.", ts, ch)
	}
	if c.Posts[ch][i-1] == text {
		return nil
	}
	c.Posts[ch][i-1] = text
	c.Edits++
	return nil
}

func (c *Chat) Reply(_ context.Context, to incident.ReplyTarget, text string) error {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	c.Replies = append(c.Replies, to.UserID+": "+text)
	return nil
}

// PostsIn returns what was posted in a channel.
func (c *Chat) PostsIn(ch string) []string {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	return slices.Clone(c.Posts[ch])
}

// Tell says a notice privately, worded by Word.
func (c *Chat) Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error {
	text := n.String()
	if c.Word != nil {
		text = c.Word(n)
	}
	return c.Reply(ctx, to, text)
}
