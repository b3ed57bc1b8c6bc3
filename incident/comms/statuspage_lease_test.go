package comms_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// runAs runs a status page post's job as the engine runs the given
// attempt of the job with that id.
func (b raceBundle) runAs(ctx context.Context, jobID int64, job incident.Job, attempt int) error {
	h := b.queue.Handler(comms.JobStatusPagePost)
	return h(incident.WithJobRun(ctx, jobID, attempt, job.MaxAttempts), job.Payload)
}

// TestRerunOfAStoppedPostTakesItsLeaseBack: the engine's run of a post
// made the public incident, then the run stopped before it recorded it
// (its replica cut off from the database, or killed). The job runs again
// at once; its rerun takes the post's lease back instead of waiting for it
// to end (up to two minutes, against the 15 s takeover), and adopts the
// incident the stopped run made. Another post of the incident (the Retry
// click's job) still waits while the stopped run's lease stands.
func TestRerunOfAStoppedPostTakesItsLeaseBack(t *testing.T) {
	t.Parallel()
	const postJob, clickJob = 41, 42
	for _, provider := range publicPages {
		t.Run(provider.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
				b := setupRace(t, kind, provider.open)
				held, release := b.page.hold(true)
				defer release()
				runCtx, stop := context.WithCancel(context.Background())
				stopped := make(chan error, 1)
				go func() { stopped <- b.runAs(runCtx, postJob, b.post, 2) }()
				select {
				case <-held:
				case <-time.After(10 * time.Second):
					t.Fatal("the post never reached the status page")
				}
				stop() // the engine stops the run: the incident is made, not recorded
				// The answer is let through only once the run has ended, so
				// that it cannot record the incident first.
				require.Error(t, <-stopped)
				release()
				require.Equal(t, 1, b.page.incidents())

				click := b.click(t)
				requireWaits(t, b.runAs(context.Background(), clickJob, click, 1))

				require.NoError(t, b.runAs(context.Background(), postJob, b.post, 3),
					"the job's rerun takes its lease back at once and adopts what the stopped run made")
				require.NoError(t, b.runAs(context.Background(), clickJob, click, 2), "the click's post finds it recorded")
				b.requirePostedOnce(t)
			})
		})
	}
}

// TestRerunAfterAKilledPostTakesItsLeaseBack: the replica running a post
// is killed after the provider made the public incident; its lease stays
// (no release ever comes). The engine runs the job again on another
// replica once the takeover finds it, in seconds: the rerun takes the
// job's lease back at once and adopts the incident, while another post of
// the incident waits.
func TestRerunAfterAKilledPostTakesItsLeaseBack(t *testing.T) {
	t.Parallel()
	const postJob, clickJob = 41, 42
	for _, provider := range publicPages {
		t.Run(provider.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
				b := setupRace(t, kind, provider.open)
				held, release := b.page.hold(true)
				defer release()
				killed := make(chan error, 1)
				go func() { killed <- b.runAs(context.Background(), postJob, b.post, 2) }()
				select {
				case <-held:
				case <-time.After(10 * time.Second):
					t.Fatal("the post never reached the status page")
				}

				click := b.click(t)
				requireWaits(t, b.runAs(context.Background(), clickJob, click, 1))
				require.NoError(t, b.runAs(context.Background(), postJob, b.post, 3),
					"the job's rerun takes its lease back at once and adopts what the killed run made")
				require.Equal(t, 1, b.page.incidents())
				require.NoError(t, b.runAs(context.Background(), clickJob, click, 2), "the click's post finds it recorded")

				release() // what the killed run would have done next is over
				<-killed
				b.requirePostedOnce(t)
			})
		})
	}
}
