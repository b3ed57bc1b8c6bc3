package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestGuestsOverSlack: Slack's multi- and single-channel guests, told apart
// by users.info, neither declare nor take the IC role, and see only the
// incidents whose channels they are in; in their channel they post
// updates. When users.info fails, a person the bot has not seen is taken
// for a member, and a guest it has seen within the hour stays a guest.
func TestGuestsOverSlack(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	guest := tr.srv.AddUser(slackfake.User{Name: "contractor", Email: "contractor@partner.example", Guest: true})
	single := tr.srv.AddUser(slackfake.User{Name: "auditor", Email: "auditor@partner.example", SingleChannelGuest: true})
	tr.srv.AddMember(tr.inc.ChannelID, guest.ID)
	tr.srv.AddMember(tr.inc.ChannelID, single.ID)
	other, _, err := tr.svc.Declare(ctx, incident.DeclareInput{Title: "search is slow", Severity: incident.P3, ServiceKey: "checkout", DeclaredBy: tr.ic.ID})
	require.NoError(t, err)
	tr.queue.Run(t, incident.JobSetup)
	other, err = tr.store.GetIncident(ctx, other.ID)
	require.NoError(t, err)
	before, err := tr.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)

	for _, who := range []slackfake.User{guest, single} {
		r := tr.command(t, who.ID, tr.inc.ChannelID, "declare P1 partner API is down")
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.Contains(t, string(r.Body), "guests of the workspace may declare only where the policy names them", who.Name)
	}
	after, err := tr.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, after, len(before), "a guest declared an incident")

	r := tr.command(t, guest.ID, tr.inc.ChannelID, "list")
	require.Contains(t, string(r.Body), tr.inc.Key())
	require.NotContains(t, string(r.Body), other.Key(), "a guest lists an incident whose channel they are not in")
	require.NotContains(t, string(r.Body), other.Title)
	r = tr.command(t, tr.other.ID, tr.inc.ChannelID, "list")
	require.Contains(t, string(r.Body), other.Key(), "members list every public incident")

	cb := slackfake.BlockActions(guest.ID, tr.inc.ChannelID, "", &slack.BlockAction{ActionID: ActionClaimIC, Value: strconv.FormatInt(tr.inc.ID, 10)})
	tr.interact(t, cb)
	got, err := tr.store.GetIncident(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.Equal(t, tr.inc.Commander, got.Commander, "a guest took the IC role")

	r = tr.command(t, guest.ID, tr.inc.ChannelID, "update the partner sees 502s from checkout")
	require.NotContains(t, string(r.Body), "You may not")

	// users.info failing: a person not seen before declares.
	newcomer := tr.srv.AddUser(slackfake.User{Name: "newcomer", Email: "newcomer@example.com"})
	tr.srv.FailNext("users.info", 3, http.StatusInternalServerError)
	r = tr.command(t, newcomer.ID, tr.inc.ChannelID, "declare P2 carts are empty")
	require.Contains(t, string(r.Body), "carts are empty")
	require.NotContains(t, string(r.Body), "You may not")

	// A guest seen within the hour stays a guest while Slack fails.
	tr.clock.Advance(userInfoTTL + time.Minute)
	tr.srv.FailNext("users.info", 3, http.StatusInternalServerError)
	r = tr.command(t, guest.ID, tr.inc.ChannelID, "declare P1 partner API is down again")
	require.Contains(t, string(r.Body), "guests of the workspace may declare only where the policy names them")
}

// TestGuestListAnswersFromMemory: once the workspace's people are read
// with users.list (every page, waiting out a rate limit), whether someone
// is a guest costs no call to Slack; only a person who joined since is
// asked about, once.
func TestGuestListAnswersFromMemory(t *testing.T) {
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	var members []slackfake.User
	for range 2*guestListPage + 50 {
		members = append(members, srv.AddUser(slackfake.User{}))
	}
	guest := srv.AddUser(slackfake.User{Name: "contractor", Guest: true})
	single := srv.AddUser(slackfake.User{Name: "auditor", SingleChannelGuest: true})
	gone := srv.AddUser(slackfake.User{Name: "left", Guest: true, Deleted: true})
	srv.RateLimitNext("users.list", 1, time.Second)
	chat := NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy())
	ctx := context.Background()
	require.NoError(t, chat.chatDirectory.readGuests(ctx))
	require.Equal(t, 4, len(srv.CallsTo("users.list")), "one rate-limited call, then three pages")

	for _, u := range []slackfake.User{guest, single} {
		g, err := chat.IsGuest(ctx, u.ID)
		require.NoError(t, err)
		require.True(t, g, u.Name)
	}
	for _, u := range []slackfake.User{members[0], members[len(members)-1]} {
		g, err := chat.IsGuest(ctx, u.ID)
		require.NoError(t, err)
		require.False(t, g)
	}
	require.Zero(t, len(srv.CallsTo("users.info")), "answered from the list")

	newcomer := srv.AddUser(slackfake.User{Name: "new-guest", Guest: true})
	for range 3 {
		g, err := chat.IsGuest(ctx, newcomer.ID)
		require.NoError(t, err)
		require.True(t, g, "a guest who joined after the read")
	}
	g, err := chat.IsGuest(ctx, gone.ID)
	require.NoError(t, err)
	require.True(t, g, "a deactivated guest is asked about, and stays a guest")
	for range 2 {
		g, err = chat.IsGuest(ctx, "U0NOBODY")
		require.NoError(t, err)
		require.False(t, g)
	}
	require.Equal(t, 3, len(srv.CallsTo("users.info")), "one call for each person the list did not have")
}

// TestGuestStandingFollowsSlackEvents: a member made a guest is a guest at
// once on the replica that takes Slack's user_change event, and on another
// replica after its next read of the changes recorded in the store, not at
// its next read of the workspace's people; an event that changes nothing
// (a profile edit) writes nothing, and a member made one again is a member.
func TestGuestStandingFollowsSlackEvents(t *testing.T) {
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	member := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	other := srv.AddUser(slackfake.User{Name: "eve", Email: "eve@example.com"})
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL()))
	replicaA := NewChat(api, incident.DefaultPolicy(), WithPeopleStore(store), WithChatClock(clock))
	replicaB := NewChat(api, incident.DefaultPolicy(), WithPeopleStore(store), WithChatClock(clock))
	ctx := context.Background()
	since := clock.Now()
	for _, c := range []*Chat{replicaA, replicaB} {
		require.NoError(t, c.chatDirectory.readGuests(ctx))
	}
	queue := incidenttest.NewQueue()
	h := New(Config{Slack: api, Scheduler: queue, Replays: store, People: replicaA, Clock: clock, SigningSecret: testSigningSecret})
	h.RegisterJobs(queue)
	r := chi.NewRouter()
	h.Routes(r)
	events := httptest.NewServer(r)
	t.Cleanup(events.Close)
	driver := slackfake.NewDriver(srv, testSigningSecret)
	deliver := func(u slackfake.User, eventID string) {
		t.Helper()
		clock.Advance(time.Second)
		ev, ok := srv.UserChangeEvent(u.ID)
		require.True(t, ok)
		reply, err := driver.Event(ctx, events.URL+"/slack/events", ev, eventID)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, reply.StatusCode)
		require.Empty(t, queue.RunAll(t))
	}
	isGuest := func(c *Chat, u slackfake.User) bool {
		t.Helper()
		g, err := c.IsGuest(ctx, u.ID)
		require.NoError(t, err)
		return g
	}

	member.Guest = true
	srv.AddUser(member)
	deliver(member, "Ev01")
	require.True(t, isGuest(replicaA, member), "a guest at once on the replica that took the event")
	require.False(t, isGuest(replicaB, member), "the other replica has not read the change yet")
	next, err := replicaB.chatDirectory.readStandings(ctx, since)
	require.NoError(t, err)
	require.True(t, isGuest(replicaB, member), "a guest on the other replica after its next read")

	other.RealName = "Eve Example" // a profile edit
	srv.AddUser(other)
	deliver(other, "Ev02")
	recorded, err := store.StandingsChangedSince(ctx, since)
	require.NoError(t, err)
	require.Len(t, recorded, 1, "a profile edit writes nothing")

	// A read of the workspace's people that began after the change agrees
	// with it; a member made a member again follows the next event.
	clock.Advance(time.Second)
	require.NoError(t, replicaB.chatDirectory.readGuests(ctx))
	require.True(t, isGuest(replicaB, member))
	member.Guest = false
	srv.AddUser(member)
	deliver(member, "Ev03")
	_, err = replicaB.chatDirectory.readStandings(ctx, next)
	require.NoError(t, err)
	require.False(t, isGuest(replicaA, member))
	require.False(t, isGuest(replicaB, member), "a member again on both replicas")
	require.Zero(t, len(srv.CallsTo("users.info")), "answered from memory throughout")
}

// TestGuestChangeRecordedWhenTheTakingReplicaAlreadySawIt: the replica that
// takes a user_change making a member a guest may have read the workspace's
// people after the change, so its own read already says guest; another
// replica's read, from before, says member. The change is recorded all the
// same, and the other replica follows it at its next read of the recorded
// changes, not at its next read of the workspace's people 15 minutes on.
func TestGuestChangeRecordedWhenTheTakingReplicaAlreadySawIt(t *testing.T) {
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	member := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL()))
	replicaA := NewChat(api, incident.DefaultPolicy(), WithPeopleStore(store), WithChatClock(clock))
	replicaB := NewChat(api, incident.DefaultPolicy(), WithPeopleStore(store), WithChatClock(clock))
	ctx := context.Background()
	since := clock.Now()
	require.NoError(t, replicaB.chatDirectory.readGuests(ctx))

	member.Guest = true
	srv.AddUser(member)
	clock.Advance(time.Second)
	require.NoError(t, replicaA.chatDirectory.readGuests(ctx))
	guest, err := replicaA.IsGuest(ctx, member.ID)
	require.NoError(t, err)
	require.True(t, guest, "replica A's read came after the change")

	clock.Advance(time.Second)
	require.NoError(t, replicaA.PersonChanged(ctx, incident.PersonStanding{UserID: member.ID, Guest: true}))
	recorded, err := store.StandingsChangedSince(ctx, since)
	require.NoError(t, err)
	require.Len(t, recorded, 1, "recorded for the replicas whose read is older")
	_, err = replicaB.chatDirectory.readStandings(ctx, since)
	require.NoError(t, err)
	guest, err = replicaB.IsGuest(ctx, member.ID)
	require.NoError(t, err)
	require.True(t, guest, "a guest on replica B after its next read of the recorded changes")

	// The same standing reported again (another profile edit) writes nothing.
	clock.Advance(time.Second)
	require.NoError(t, replicaA.PersonChanged(ctx, incident.PersonStanding{UserID: member.ID, Guest: true}))
	recorded, err = store.StandingsChangedSince(ctx, since)
	require.NoError(t, err)
	require.Len(t, recorded, 1)
}

// TestGuestAgainAfterAMissedChangeIsRecorded: a member made a guest
// (recorded), then a member again in a user_change the bot never got, reads
// as a member once the workspace's people are read after it. Made a guest
// once more, the user_change is recorded and followed at once, although it
// reports what the first, older record did: that record no longer counts
// next to the newer read.
func TestGuestAgainAfterAMissedChangeIsRecorded(t *testing.T) {
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	person := srv.AddUser(slackfake.User{Name: "erin", Email: "erin@example.com"})
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL()))
	replica := NewChat(api, incident.DefaultPolicy(), WithPeopleStore(store), WithChatClock(clock))
	ctx := context.Background()
	since := clock.Now()
	require.NoError(t, replica.chatDirectory.readGuests(ctx))
	isGuest := func() bool {
		t.Helper()
		guest, err := replica.IsGuest(ctx, person.ID)
		require.NoError(t, err)
		return guest
	}

	clock.Advance(time.Minute)
	person.Guest = true
	srv.AddUser(person)
	require.NoError(t, replica.PersonChanged(ctx, incident.PersonStanding{UserID: person.ID, Guest: true}))
	require.True(t, isGuest(), "made a guest")

	// A member again; the user_change is lost. The next read says member.
	clock.Advance(time.Minute)
	person.Guest = false
	srv.AddUser(person)
	clock.Advance(time.Minute)
	require.NoError(t, replica.chatDirectory.readGuests(ctx))
	require.False(t, isGuest(), "the read after the lost change says member")

	clock.Advance(time.Minute)
	person.Guest = true
	srv.AddUser(person)
	require.NoError(t, replica.PersonChanged(ctx, incident.PersonStanding{UserID: person.ID, Guest: true}))
	require.True(t, isGuest(), "a guest again at once, not at the next read of the workspace's people")
	recorded, err := store.StandingsChangedSince(ctx, since)
	require.NoError(t, err)
	require.Len(t, recorded, 1)
	require.True(t, recorded[0].Guest)
	require.Equal(t, clock.Now(), recorded[0].ChangedAt, "recorded anew for the other replicas")
}
