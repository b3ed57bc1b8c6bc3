package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// raceStore is a store where someone else changes the incident once, just
// before the next transaction starts: between an Edit's checks and its
// writes.
type raceStore struct {
	incident.Store
	meanwhile func()
}

func (s *raceStore) Atomic(ctx context.Context, fn func(incident.Tx) error) error {
	if m := s.meanwhile; m != nil {
		s.meanwhile = nil
		m()
	}
	return s.Store.Atomic(ctx, fn)
}

func sevPtr(s incident.Severity) *incident.Severity { return &s }
func statusPtr(s incident.Status) *incident.Status  { return &s }
func strPtr(s string) *string                       { return &s }

// An Edit makes all of its changes or none. A resolve the checklist of the
// incident's most severe covers is refused after the severity was lowered
// in the same Edit, and the lowering is undone with it; a change made by
// someone else between the Edit's checks and its writes refuses the whole
// Edit, with no line on the timeline; an Edit that passes makes each change
// with its line, its sync and its hooks' job in one transaction.
func TestEditMakesAllOfItsChangesOrNone(t *testing.T) {
	for _, kind := range storetest.Every {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
			q := incidenttest.NewQueue()
			store := &raceStore{Store: storetest.Open[incident.Store](t, kind, clock, q)}
			policy := incident.DefaultPolicy()
			policy.ConfirmResolution[incident.P1] = true
			c := incidenttest.NewChat()
			c.Word = bot.NoticeText
			svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
			svc.RegisterJobs(q)
			svc.Use((&hookProbe{}).feature())
			declare := func(sev incident.Severity) *incident.Incident {
				inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: sev,
					DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
				require.NoError(t, err)
				require.Empty(t, q.RunAll(t))
				return inc
			}
			changes := func(id int64) []incident.EventKind {
				events, err := store.ListTimeline(ctx, id)
				require.NoError(t, err)
				var kinds []incident.EventKind
				for _, ev := range events {
					switch ev.Kind {
					case incident.EventSeverityChanged, incident.EventStatusChanged, incident.EventRoleAssigned:
						kinds = append(kinds, ev.Kind)
					}
				}
				return kinds
			}

			// The policy asks a P1's resolve for the checklist.
			p1 := declare(incident.P1)
			before := changes(p1.ID)
			_, err := svc.Edit(ctx, p1.ID, incident.Edit{Severity: sevPtr(incident.P3), Status: statusPtr(incident.StatusResolved), Summary: "rolled back"}, "U0DECL")
			require.Equal(t, incident.EINVALID, incident.ErrorCode(err), "%v", err)
			got, err := store.GetIncident(ctx, p1.ID)
			require.NoError(t, err)
			require.Equal(t, incident.P1, got.Severity, "the lowering is undone with the refused resolve")
			require.Equal(t, incident.StatusInvestigating, got.Status)
			require.Empty(t, got.Summary)
			require.Equal(t, before, changes(p1.ID), "no line is written")
			require.Zero(t, q.Pending(incident.JobHooks))
			require.Zero(t, q.Pending(incident.JobSync))

			// The IC lowers the severity from Slack between the checks and the
			// writes.
			p3 := declare(incident.P3)
			before = changes(p3.ID)
			store.meanwhile = func() {
				_, err := svc.SetSeverity(ctx, p3.ID, incident.P4, "U0DECL")
				require.NoError(t, err)
			}
			_, err = svc.Edit(ctx, p3.ID, incident.Edit{Severity: sevPtr(incident.P2), Status: statusPtr(incident.StatusMitigated)}, "U0DECL")
			require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "%v", err)
			require.Contains(t, err.Error(), "changed meanwhile")
			got, err = store.GetIncident(ctx, p3.ID)
			require.NoError(t, err)
			require.Equal(t, incident.P4, got.Severity, "only the change made meanwhile is made")
			require.Equal(t, incident.StatusInvestigating, got.Status)
			require.Equal(t, append(before, incident.EventSeverityChanged), changes(p3.ID))
			require.Equal(t, 1, q.Pending(incident.JobHooks), "the change made meanwhile only")
			require.Empty(t, q.RunAll(t))

			// Taken whole: the IC hands over after raising and mitigating.
			clock.Advance(time.Minute)
			got, err = svc.Edit(ctx, p3.ID, incident.Edit{Severity: sevPtr(incident.P2), Status: statusPtr(incident.StatusMitigated), Commander: strPtr("U0NEXT")}, "U0DECL")
			require.NoError(t, err)
			require.Equal(t, incident.P2, got.Severity)
			require.Equal(t, incident.StatusMitigated, got.Status)
			require.Equal(t, "U0NEXT", got.Commander)
			require.Equal(t, append(before, incident.EventSeverityChanged, incident.EventSeverityChanged, incident.EventStatusChanged, incident.EventRoleAssigned), changes(p3.ID),
				"the handover comes last: the IC leads until then")
			require.Equal(t, 2, q.Pending(incident.JobHooks), "the severity's and the status's")
			require.Equal(t, 3, q.Pending(incident.JobSync), "one sync a change")

			// Sent again, it holds what it asks for and changes nothing.
			again, err := svc.Edit(ctx, p3.ID, incident.Edit{Severity: sevPtr(incident.P2), Status: statusPtr(incident.StatusMitigated), Commander: strPtr("U0NEXT")}, "U0NEXT")
			require.NoError(t, err)
			require.Equal(t, got.UpdatedAt, again.UpdatedAt)
			require.Equal(t, 2, q.Pending(incident.JobHooks))
		})
	}
}
