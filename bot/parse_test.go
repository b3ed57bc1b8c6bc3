package bot

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestParseDeclareOptionsOnlyBeforeTheTitle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want declareArgs
	}{
		{"P1 checkout is down", declareArgs{severity: incident.P1, title: "checkout is down"}},
		{"P1 --private --service=checkout checkout is down", declareArgs{severity: incident.P1, private: true, service: "checkout", title: "checkout is down"}},
		{"--private P2 --drill payroll leak", declareArgs{severity: incident.P2, private: true, drill: true, title: "payroll leak"}},
		{"P1 checkout --private is down", declareArgs{severity: incident.P1, title: "checkout --private is down"}},
		{"P1 retries -- the queue", declareArgs{severity: incident.P1, title: "retries -- the queue"}},
		{"P1 -- --private is a word here", declareArgs{severity: incident.P1, title: "--private is a word here"}},
		{"P1 P2 upgrade failed", declareArgs{severity: incident.P1, title: "P2 upgrade failed"}},
		{"checkout is down", declareArgs{title: "checkout is down"}},
		// A bare number starts the title: no severity is read into it.
		{"4 regions down, checkout failing", declareArgs{title: "4 regions down, checkout failing"}},
		{"500 errors on checkout", declareArgs{title: "500 errors on checkout"}},
		{"P2 500 errors on checkout", declareArgs{severity: incident.P2, title: "500 errors on checkout"}},
		{"sev1 checkout is down", declareArgs{severity: incident.P1, title: "checkout is down"}},
		{"--service=checkout", declareArgs{service: "checkout"}},
		{"", declareArgs{}},
	}
	for _, c := range cases {
		got, err := parseDeclare(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	for in, want := range map[string]string{
		"P1 --prvate checkout":      "Unknown option --prvate. Options, before the title: --private, --drill, --service=<key>.",
		"--service= checkout":       "Say which service after --service=",
		"--service checkout broken": "Write the service with an equals sign",
		"P9 checkout":               "P1",
	} {
		_, err := parseDeclare(in)
		require.Equal(t, incident.EINVALID, incident.ErrorCode(err), in)
		require.Contains(t, incident.ErrorMessage(err), want, in)
	}
}

func TestParseWindowIsBounded(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"": 0, "90m": 90 * time.Minute, "2h": 2 * time.Hour, "1d": 24 * time.Hour, "2d": 48 * time.Hour, "1m": time.Minute} {
		got, err := parseWindow(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for in, want := range map[string]string{
		"213504d":               "too far back",
		"9223372036854775807d":  "too far back",
		"99999999999999999999d": "not a time span",
		"3d":                    "too far back",
		"49h":                   "too far back",
		"30s":                   "too short",
		"-2h":                   "not a time span",
		"soon":                  "not a time span",
		"0d":                    "not a time span",
	} {
		_, err := parseWindow(in)
		require.Equal(t, incident.EINVALID, incident.ErrorCode(err), in)
		require.Contains(t, incident.ErrorMessage(err), want, in)
	}
}
