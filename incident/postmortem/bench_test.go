package postmortem_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/postmortem"
	pmt "github.com/firebreakhq/firebreak/incident/postmortem/postmortemtest"
)

// TestCompileBusyIncident checks the benchmark's input compiles correctly:
// deleted and edited messages are handled at scale.
func TestCompileBusyIncident(t *testing.T) {
	t.Parallel()
	const n = 10_000
	d := postmortem.Compile(pmt.Busy(n))
	deleted := (n-1)/101 + 1 // i%101 == 0
	require.Equal(t, 19+n-deleted, d.MessageCount, "each edit merges into its message")
	require.Len(t, d.MostActive, postmortem.MostActiveLimit)
	require.GreaterOrEqual(t, d.MostActive[0].Messages, d.MostActive[4].Messages)
	pinned := 0
	for i := 0; i < n; i += 50 {
		if i%101 != 0 {
			pinned++
		}
	}
	require.Len(t, d.KeyEvents, 10+pinned)
}

// BenchmarkCompile10k compiles an incident with 10,000 captured messages.
func BenchmarkCompile10k(b *testing.B) {
	in := pmt.Busy(10_000)
	b.ReportAllocs()
	for b.Loop() {
		postmortem.Compile(in)
	}
}
