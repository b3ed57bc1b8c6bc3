package gormstore

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/jobs"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// statements records the statements PostgreSQL is sent for contexts marked
// with traced: the first words of each, one per round trip.
type statements struct {
	mu   sync.Mutex
	sent []string
}

type traced struct{}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if ctx.Value(traced{}) == nil {
		return ctx
	}
	words := strings.Fields(d.SQL)
	if len(words) > 4 {
		words = words[:4]
	}
	s.mu.Lock()
	s.sent = append(s.sent, strings.Join(words, " "))
	s.mu.Unlock()
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestDeclareRoundTripsOnPostgres: on PostgreSQL a declare's transaction is
// four round trips, begin, the incident with its first events in one
// statement, its jobs in one more, and commit; and a repeated declare reads
// the incident stored before and stores nothing.
func TestDeclareRoundTripsOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.MigratedDSN(t)
	log := &statements{}
	db, err := openPostgres(context.Background(), dsn, func(c *pgxpool.Config) { c.ConnConfig.Tracer = log })
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	engine, err := jobs.NewPostgres(db.Pool(), jobs.Options{})
	require.NoError(t, err)
	engine.Handle("probe", func(context.Context, []byte) error { return nil })
	s := New(db, incidenttest.NewClock(incidenttest.Epoch()), WithJobs(engine))

	ctx := context.WithValue(context.Background(), traced{}, true)
	declare := func(key string) (*incident.Incident, error) {
		var inc *incident.Incident
		err := s.Atomic(ctx, func(tx incident.Tx) error {
			var err error
			inc, err = tx.(incident.IncidentOpener).CreateIncidentWith(ctx, incidenttest.NewIncident(func(i *incident.Incident) { i.DeclareKey = key }),
				func(inc *incident.Incident) []incident.TimelineEvent {
					return []incident.TimelineEvent{
						{Kind: incident.EventDeclared, Text: "declared " + inc.Key()},
						{Kind: incident.EventRoleAssigned, Text: "<@U0IC> is the IC of " + inc.Key(),
							Payload: incident.RoleAssignedData{Role: incident.RoleCommander, User: "U0IC"}},
					}
				})
			if err != nil {
				return err
			}
			for _, kind := range []string{"setup", "page", "nag", "ack", "changes"} {
				if _, err := tx.Schedule(ctx, incident.Job{Kind: "probe", Key: kind + ":" + inc.Key()}); err != nil {
					return err
				}
			}
			return nil
		})
		return inc, err
	}
	inc, err := declare("T1:U1:trips")
	require.NoError(t, err)
	// Besides its insert, River asks the server's version once, and sends
	// its insert notification at most once per queue per FetchCooldown.
	var ours, river []string
	for _, sql := range log.sent {
		if name, ok := strings.CutPrefix(sql, "-- name: "); ok {
			river = append(river, name)
			continue
		}
		ours = append(ours, sql)
	}
	require.Equal(t, []string{"begin", `WITH inc AS (INSERT`, "commit"}, ours)
	require.Contains(t, river, "JobInsertFastMany :many")
	require.Subset(t, []string{"JobInsertFastMany :many", "PGGetProductAndVersion :one", "PGNotifyMany :exec"}, river)
	require.Equal(t, "commit", log.sent[len(log.sent)-1])

	events, err := s.ListTimeline(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Len(t, events, 2)
	require.Equal(t, "declared "+inc.Key(), events[0].Text)
	require.Equal(t, "<@U0IC> is the IC of "+inc.Key(), events[1].Text)

	log.sent = nil
	again, err := declare("T1:U1:trips")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "%v", err)
	require.Equal(t, inc.ID, again.ID)
	require.Equal(t, []string{"begin", `WITH inc AS (INSERT`, `SELECT * FROM "incidents"`, "rollback"}, log.sent)
}
