package incident_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestCheckTransition(t *testing.T) {
	t.Parallel()
	const (
		dec = incident.StatusDeclared
		inv = incident.StatusInvestigating
		mit = incident.StatusMitigated
		res = incident.StatusResolved
		clo = incident.StatusClosed
	)
	tests := []struct {
		from, to incident.Status
		ok       bool
		why      string
	}{
		{dec, inv, true, ""},
		{dec, mit, true, ""},
		{dec, res, true, ""},
		{inv, mit, true, ""},
		{inv, res, true, ""},
		{mit, inv, true, ""},
		{mit, res, true, ""},
		{res, clo, true, ""},
		{res, inv, true, ""}, // reopen
		{dec, clo, false, "Only a resolved incident can be closed"},
		{inv, clo, false, "Only a resolved incident can be closed"},
		{mit, clo, false, "Only a resolved incident can be closed"},
		{clo, inv, false, "closed incident cannot change"},
		{clo, res, false, "closed incident cannot change"},
		{inv, dec, false, "cannot go back to declared"},
		{res, mit, false, "resolved cannot become mitigated"},
		{res, res, false, "already resolved"},
		{inv, "paused", false, "Unknown status"},
	}
	for _, tt := range tests {
		err := incident.CheckTransition(tt.from, tt.to)
		if tt.ok {
			require.NoError(t, err, "%s -> %s", tt.from, tt.to)
			continue
		}
		require.Error(t, err, "%s -> %s", tt.from, tt.to)
		require.Contains(t, incident.ErrorMessage(err), tt.why)
		require.NotEqual(t, incident.EINTERNAL, incident.ErrorCode(err))
	}
}

func TestParseSeverity(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]incident.Severity{"P1": incident.P1, "p2": incident.P2, "sev3": incident.P3, "4": incident.P4, " P1 ": incident.P1} {
		got, err := incident.ParseSeverity(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	for _, in := range []string{"P0", "P5", "high", "", "PP1", "P12"} {
		_, err := incident.ParseSeverity(in)
		require.Error(t, err, in)
		require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
		require.Contains(t, incident.ErrorMessage(err), "P1, P2, P3 or P4")
	}
}

func TestIncidentValidate(t *testing.T) {
	t.Parallel()
	ok := incident.Incident{Title: "checkout is down", Severity: incident.P1}
	require.NoError(t, ok.Validate())
	for name, inc := range map[string]incident.Incident{
		"empty title":    {Title: "   ", Severity: incident.P1},
		"long title":     {Title: string(make([]byte, 1000)), Severity: incident.P1},
		"no severity":    {Title: "x"},
		"unknown status": {Title: "x", Severity: incident.P2, Status: "sleeping"},
	} {
		err := inc.Validate()
		require.Error(t, err, name)
		require.Equal(t, incident.EINVALID, incident.ErrorCode(err), name)
	}
	// A title of invisible characters only is no title; one that turns the
	// text's direction around is refused, naming the character.
	for _, title := range []string{"\u200b", " \u2060\ufeff ", "\u00a0\u200b\u3000"} {
		err := (&incident.Incident{Title: title, Severity: incident.P2}).Validate()
		require.Equal(t, `The incident needs a title, such as "checkout is down".`, incident.ErrorMessage(err), "%q", title)
	}
	err := (&incident.Incident{Title: "checkout \u202edown", Severity: incident.P2}).Validate()
	require.Equal(t, "The title holds a character that changes the direction of the text after it (U+202E); remove it.", incident.ErrorMessage(err))
	for _, title := range []string{"الدفع متوقف", "checkout\u200bis down", "בדיקה 2"} {
		require.NoError(t, (&incident.Incident{Title: title, Severity: incident.P2}).Validate(), "%q", title)
	}
}
