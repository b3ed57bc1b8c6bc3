package incident_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// TestDeclareRetryIsAnsweredThoughDeclaringIsRefusedNow: a declare
// repeated with its Key returns the first incident though its declarer
// may no longer declare; a refused declare with a Key never used stores
// nothing (its look for the key is undone), and someone else's declare
// under the same Key is refused. On every store.
func TestDeclareRetryIsAnsweredThoughDeclaringIsRefusedNow(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Every {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			store := storetest.Open[incident.Store](t, kind, b.clock, b.queue)
			open := func(declarers ...string) *incident.Service {
				p := b.svc.Policy()
				p.Declarers = declarers
				return incident.NewService(incident.ServiceConfig{Store: store, Scheduler: b.queue, Chat: b.chat.Roles(), Policy: p, Clock: b.clock})
			}
			in := incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout", DeclaredBy: "U0DECL", Key: "api:1:a"}
			first, existed, err := open().Declare(ctx, in)
			require.NoError(t, err)
			require.False(t, existed)

			strict := open("U0ALICE")
			again, existed, err := strict.Declare(ctx, in)
			require.NoError(t, err)
			require.True(t, existed)
			require.Equal(t, first.ID, again.ID)

			other := in
			other.DeclaredBy = "U0BOB"
			_, _, err = strict.Declare(ctx, other)
			require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "another declarer under the same key is checked")
			fresh := in
			fresh.Key = "api:1:b"
			_, _, err = strict.Declare(ctx, fresh)
			require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
			all, err := store.ListIncidents(ctx, incident.IncidentFilter{})
			require.NoError(t, err)
			require.Len(t, all, 1, "a refused declare stores nothing")

			next, existed, err := open().Declare(ctx, fresh)
			require.NoError(t, err)
			require.False(t, existed)
			require.NotEqual(t, first.ID, next.ID)
		})
	}
}

// TestUpdateRetryIsAnsweredOnlyToItsAuthor: an update repeated with its
// Key after the incident was resolved returns ErrUpdateRepeated and the
// incident as it stands; the same Key sent by someone else is not taken
// for their retry, and is refused as their update would be.
func TestUpdateRetryIsAnsweredOnlyToItsAuthor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := ready(t, b)
	in := incident.UpdateInput{Author: inc.Commander, Known: "pool exhausted", Key: "api:1:u"}
	_, err := b.svc.PostUpdate(ctx, inc.ID, in)
	require.NoError(t, err)
	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, inc.Commander, "pool resized")
	require.NoError(t, err)

	got, err := b.svc.PostUpdate(ctx, inc.ID, in)
	require.ErrorIs(t, err, incident.ErrUpdateRepeated)
	require.Equal(t, incident.StatusResolved, got.Status)

	someone := in
	someone.Author = "U0SOMEONE"
	_, err = b.svc.PostUpdate(ctx, inc.ID, someone)
	require.NotErrorIs(t, err, incident.ErrUpdateRepeated)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "Reopen it first")
}
