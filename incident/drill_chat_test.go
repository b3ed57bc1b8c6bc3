package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// drillSpy records the incident titles and notices each posting role is
// given.
type drillSpy struct {
	*incidenttest.Chat
	titles  []string
	notices []incident.Notice
}

func (d *drillSpy) PostPanel(_ context.Context, inc *incident.Incident) (string, error) {
	d.titles = append(d.titles, "panel "+inc.Title)
	return "1.0", nil
}

func (d *drillSpy) UpdatePanel(_ context.Context, inc *incident.Incident) error {
	d.titles = append(d.titles, "update_panel "+inc.Title)
	return nil
}

func (d *drillSpy) Announce(_ context.Context, _ string, inc *incident.Incident) (string, string, error) {
	d.titles = append(d.titles, "announce "+inc.Title)
	return "CB", "1.0", nil
}

func (d *drillSpy) UpdateAnnouncement(_ context.Context, _, _ string, inc *incident.Incident) error {
	d.titles = append(d.titles, "update_announcement "+inc.Title)
	return nil
}

func (d *drillSpy) PostNag(_ context.Context, _ string, inc *incident.Incident, _ incident.Notice) (string, error) {
	d.titles = append(d.titles, "nag "+inc.Title)
	return "1.0", nil
}

func (d *drillSpy) PostChanges(_ context.Context, _ string, inc *incident.Incident, _ incident.ChangeList) (string, error) {
	d.titles = append(d.titles, "changes "+inc.Title)
	return "1.0", nil
}

func (d *drillSpy) Notify(_ context.Context, _ string, n incident.Notice) (string, error) {
	d.notices = append(d.notices, n)
	return "1.0", nil
}

// Every role that posts marks a drill, and MarkDrills keeps every role.
func TestMarkDrillsMarksEveryPostingRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := incidenttest.NewClock(time.Date(2026, time.March, 14, 14, 0, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	drill, err := store.CreateIncident(ctx, &incident.Incident{Title: "practice", Severity: incident.P2, Status: incident.StatusInvestigating,
		ChannelID: "C0DRILL", Drill: true, DeclaredAt: clock.Now()})
	require.NoError(t, err)
	real, err := store.CreateIncident(ctx, &incident.Incident{Title: "outage", Severity: incident.P2, Status: incident.StatusInvestigating,
		ChannelID: "C0REAL", DeclaredAt: clock.Now()})
	require.NoError(t, err)

	spy := &drillSpy{Chat: incidenttest.NewChat()}
	chat := incident.MarkDrills(incident.Chat{ChannelSetup: spy, Directory: spy, PanelPoster: spy, NoticePoster: spy, ChatHistory: spy, ChangePoster: spy}, store)
	require.Equal(t, chat, incident.MarkDrills(chat, store), "marked once")
	require.Same(t, spy, chat.ChannelSetup.(*drillSpy))
	require.Same(t, spy, chat.Directory.(*drillSpy))
	require.Same(t, spy, chat.ChatHistory.(*drillSpy))

	for _, inc := range []*incident.Incident{drill, real} {
		_, err = chat.PostPanel(ctx, inc)
		require.NoError(t, err)
		require.NoError(t, chat.UpdatePanel(ctx, inc))
		_, _, err = chat.Announce(ctx, "#incidents", inc)
		require.NoError(t, err)
		require.NoError(t, chat.UpdateAnnouncement(ctx, "CB", "1.0", inc))
		_, err = chat.PostNag(ctx, inc.ChannelID, inc, incident.Notice{Kind: incident.NoticeNag})
		require.NoError(t, err)
		_, err = chat.PostChanges(ctx, inc.ChannelID, inc, incident.ChangeList{})
		require.NoError(t, err)
		_, err = chat.Notify(ctx, inc.ChannelID, incident.Notice{Kind: incident.NoticeNote})
		require.NoError(t, err)
		_, err = chat.Post(ctx, inc.ChannelID, "a line")
		require.NoError(t, err)
		_, err = chat.PostButtons(ctx, inc.ChannelID, "a choice", []incident.Button{{Action: "a", Text: "A"}})
		require.NoError(t, err)
	}
	require.Equal(t, []string{"panel [DRILL] practice", "update_panel [DRILL] practice", "announce [DRILL] practice",
		"update_announcement [DRILL] practice", "nag [DRILL] practice", "changes [DRILL] practice",
		"panel outage", "update_panel outage", "announce outage", "update_announcement outage", "nag outage", "changes outage"}, spy.titles)
	require.Len(t, spy.notices, 4, "the drill's note, line and buttons, and the real incident's note")
	for _, n := range spy.notices[:3] {
		require.True(t, n.Drill, n.String())
	}
	require.Equal(t, []incident.Button{{Action: "a", Text: "A"}}, spy.notices[2].Buttons)
	require.False(t, spy.notices[3].Drill)
	require.Equal(t, []string{"a line", "a choice [A:a=]"}, spy.Posts["C0REAL"], "a real incident's line and buttons are posted as they are")
}
