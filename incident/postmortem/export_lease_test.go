package postmortem_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
)

// stallingExporter makes its first export, then stalls before answering
// until released: a replica killed mid-export, whose lease stays.
type stallingExporter struct {
	incident.Exporter
	once    sync.Once
	held    chan struct{}
	release chan struct{}
}

func (s *stallingExporter) Export(ctx context.Context, doc incident.PostmortemDoc, prev *incident.ExportRef) (incident.ExportRef, error) {
	ref, err := s.Exporter.Export(ctx, doc, prev)
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.held)
		<-s.release
	}
	return ref, err
}

// TestRerunOfAKilledExportTakesItsLeaseBack: the replica running an export
// job is killed after GitHub made the postmortem's document; its lease
// stays (up to five minutes). The engine runs the job again once the
// takeover finds it, in seconds: the rerun takes the job's lease back at
// once and finds the document the killed run made, while another export
// of the postmortem to GitHub waits.
func TestRerunOfAKilledExportTakesItsLeaseBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stall := &stallingExporter{held: make(chan struct{}), release: make(chan struct{})}
	g := githubExport(t, nil, func(e incident.Exporter) incident.Exporter { stall.Exporter = e; return stall })
	reply := incident.ReplyTarget{ChannelID: g.inc.ChannelID, UserID: alice}
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	job, ok := g.q.Take(postmortem.JobExport)
	require.True(t, ok)
	run := func(jobID int64, job incident.Job, attempt int) error {
		return g.q.Handler(postmortem.JobExport)(incident.WithJobRun(ctx, jobID, attempt, job.MaxAttempts), job.Payload)
	}

	killed := make(chan error, 1)
	go func() { killed <- run(7, job, 1) }()
	select {
	case <-stall.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the export never reached GitHub")
	}
	defer func() {
		select {
		case <-stall.release:
		default:
			close(stall.release)
		}
	}()

	g.clock.Advance(time.Minute)
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	other, ok := g.q.Take(postmortem.JobExport)
	require.True(t, ok, "an export asked for a minute later is a job of its own")
	var later interface{ RetryAfter() time.Duration }
	require.ErrorAs(t, run(8, other, 1), &later, "another export waits while the killed run's lease stands")

	require.NoError(t, run(7, job, 2), "the job's rerun takes its lease back at once")
	require.Len(t, g.fake.PullRequests("acme/postmortems"), 1, "the rerun finds the document the killed run made")
	require.NoError(t, run(8, other, 2))
	require.Len(t, g.fake.PullRequests("acme/postmortems"), 1)

	close(stall.release)
	<-killed
	require.Len(t, g.fake.PullRequests("acme/postmortems"), 1)
}
