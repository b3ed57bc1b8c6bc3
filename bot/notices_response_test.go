package bot_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// responseSamples is one notice of every kind of the update reminders, the
// response-time check, the resolution check and the declare.
func responseSamples() map[string]incident.Notice {
	k := "INC-42"
	return map[string]incident.Notice{
		"nag":              {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE", Values: map[string]string{"silent": "10 min", "level": "1"}},
		"nag_second":       {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE", Values: map[string]string{"silent": "20 min", "level": "2"}},
		"nag_third_group":  {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE", Values: map[string]string{"silent": "30 min", "level": "3", "group": "S0ICS"}},
		"nag_third_comms":  {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE", Values: map[string]string{"silent": "30 min", "level": "3", "backup": "U0CARA"}},
		"nag_third_nobody": {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE", Values: map[string]string{"silent": "30 min", "level": "4"}},
		"nag_no_ic":        {Kind: incident.NoticeNag, Incident: k, Actor: "bot", Values: map[string]string{"silent": "10 min", "level": "1"}},
		"nag_drill":        {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE", Drill: true, Values: map[string]string{"silent": "10 min", "level": "1"}},
		"nag_direct":       {Kind: incident.NoticeNagDirect, Incident: k, Actor: "bot", User: "U0JANE", Values: map[string]string{"silent": "20 min", "channel": "C0INC"}},
		"nag_direct_undelivered": {Kind: incident.NoticeNagDirect, Incident: k, Actor: "bot", User: "U0JANE", Values: map[string]string{"silent": "20 min", "channel": "C0INC",
			"undelivered": "Slack refused to post the reminder: the channel is archived <!channel>."}},
		"ack_missed": {Kind: incident.NoticeAckMissed, Incident: k, Actor: "bot", User: "U0JANE",
			Values:  map[string]string{"target": "5 minutes", "severity": "P1", "ago": "6 min", "group": "S0ICS", "unacknowledged": "1"},
			Buttons: []incident.Button{{Action: incident.ActionRepage, Text: "Re-page checkout", Value: "7|checkout", Style: "danger"}}},
		"ack_missed_no_ic": {Kind: incident.NoticeAckMissed, Incident: k, Actor: "bot", Values: map[string]string{"target": "15 minutes", "severity": "P2", "ago": "16 min"}},
		"resolution_confirmed": {Kind: incident.NoticeResolutionConfirmed, Incident: k, Actor: "U0JANE", User: "U0BOB",
			Values: map[string]string{"monitors": "yes", "baseline": "yes", "smoke": "yes", "notes": hostile}},
		"resolution_confirmed_no_smoke": {Kind: incident.NoticeResolutionConfirmed, Incident: k, Actor: "U0JANE",
			Values: map[string]string{"monitors": "yes", "baseline": "no", "smoke": "no"}},
		"declared":            {Kind: incident.NoticeDeclared, Incident: k, Actor: "U0JANE", Values: map[string]string{"severity": "P1", "title": hostile, "drill": "false"}},
		"declared_drill":      {Kind: incident.NoticeDeclared, Incident: k, Actor: "U0JANE", Values: map[string]string{"severity": "P3", "title": "game day", "drill": "true"}},
		"ic_named":            {Kind: incident.NoticeICNamed, Incident: k, Actor: "U0JANE", User: "U0BOB"},
		"incident_open":       {Kind: incident.NoticeIncidentOpen, Incident: k, Actor: "bot", Values: map[string]string{"channel": "C0INC"}},
		"incident_open_drill": {Kind: incident.NoticeIncidentOpen, Incident: k, Actor: "bot", Drill: true, Values: map[string]string{"channel": "C0INC"}},
		"topic":               {Kind: incident.NoticeTopic, Incident: k, User: "U0JANE", Values: map[string]string{"severity": "P1", "status": "Investigating", "title": hostile, "drill": "false"}},
		"topic_no_ic_drill":   {Kind: incident.NoticeTopic, Incident: k, Values: map[string]string{"severity": "P3", "status": "Mitigated", "title": "game day", "drill": "true"}},
		"declared_from": {Kind: incident.NoticeDeclaredFrom, Incident: k, Actor: "U0JANE", User: "U0BOB",
			Values: map[string]string{"channel": "C0GENERAL", "url": "https://acme.slack.com/archives/C0GENERAL/p1700000000000100"}},
	}
}

// TestResponseNoticeGolden pins the Slack wording of these notices; -update
// rewrites their testdata/notices/*.golden.
func TestResponseNoticeGolden(t *testing.T) {
	t.Parallel()
	for name, n := range responseSamples() {
		got := bot.NoticeText(n)
		require.NotEqual(t, bot.Escape(n.String()), got, "%s has its own wording", n.Kind)
		incidenttest.Golden(t, filepath.Join("testdata", "notices", name+".golden"), []byte(got+"\n"))
		require.NotContains(t, got, "<!channel>", name)
		require.NotContains(t, got, "<@U0EVIL>", name)
		if strings.Contains(bot.TimelineText(n), hostile) {
			require.Contains(t, got, "&lt;!channel&gt; p99 &gt; 2s &amp; &lt;@U0EVIL&gt;", name)
		}
	}
	nag := responseSamples()["nag_no_ic"]
	require.Contains(t, bot.NoticeTextFor(nag, "/ic"), "`/ic ic`", "the configured command is named")
}
