package comms_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/integrations/instatus"
	"github.com/firebreakhq/firebreak/integrations/instatus/instatusfake"
	"github.com/firebreakhq/firebreak/integrations/statuspage"
	"github.com/firebreakhq/firebreak/integrations/statuspage/statuspagefake"
)

// A private incident published on the status page is named there as any
// incident of its service is: by the service's public name, else as a
// service disruption. Customers never read the incident's internal key,
// nor that the incident is kept private inside the company, in the public
// incident's name or in its text, on either provider.
func TestPrivateIncidentIsNamedPubliclyAsAnyIncident(t *testing.T) {
	t.Parallel()
	type onPage struct{ name, body string }
	providers := map[string]func(t *testing.T, clock incident.Clock) (comms.StatusPage, func() []onPage){
		"statuspage": func(t *testing.T, clock incident.Clock) (comms.StatusPage, func() []onPage) {
			f := statuspagefake.New("sp-key", "pgpriv", "cmp-api", "cmp-web", "cmp-search")
			t.Cleanup(f.Close)
			f.SetClock(clock.Now)
			return statuspage.New(statuspage.Config{APIURL: f.URL, APIKey: f.APIKey, PageID: f.PageID, Clock: clock}), func() (out []onPage) {
				for _, in := range f.Incidents() {
					for _, u := range in.Updates {
						out = append(out, onPage{in.Name, u.Body})
					}
				}
				return out
			}
		},
		"instatus": func(t *testing.T, clock incident.Clock) (comms.StatusPage, func() []onPage) {
			f := instatusfake.New("is-key", "pgpriv", "cmp-api", "cmp-web", "cmp-search")
			t.Cleanup(f.Close)
			f.SetClock(clock.Now)
			return instatus.New(instatus.Config{APIURL: f.URL, APIKey: f.APIKey, PageID: f.PageID, Clock: clock}), func() (out []onPage) {
				for _, in := range f.Incidents() {
					for _, u := range in.Updates {
						out = append(out, onPage{in.Name, u.Message})
					}
				}
				return out
			}
		},
	}
	for name, open := range providers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
			store := incidenttest.NewMemStore(clock)
			q := incidenttest.NewQueue()
			store.SetScheduler(q)
			sp, page := open(t, clock)
			b := setupCommsOn(t, store, q, clock, sp, func(p *incident.Policy) {
				p.Services["search"] = incident.ServicePolicy{Key: "search", StatusPage: incident.StatusPageService{Components: []string{"cmp-search"}}}
			})
			ctx := context.Background()
			want := map[string]string{"checkout": "Issue affecting Checkout", "search": "Service disruption"}
			var keys []string
			for _, service := range []string{"checkout", "search"} {
				inc, _, err := b.core.Declare(ctx, incident.DeclareInput{Title: "Acme merger data exposed", Severity: incident.P1, ServiceKey: service,
					DeclaredBy: "U0DECL", Private: true, ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
				require.NoError(t, err)
				require.True(t, inc.Private)
				b.queue.RunDue(t, b.clock.Now())
				ok, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: "U0DECL"})
				require.NoError(t, err)
				require.True(t, ok)
				require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
				keys = append(keys, inc.Key())
				b.clock.Advance(time.Minute)
			}
			posts := page()
			require.Len(t, posts, 2, "each incident is on the page with its first post")
			names := map[string]bool{}
			for _, p := range posts {
				names[p.name] = true
				for _, text := range []string{p.name, p.body} {
					require.NotContains(t, strings.ToLower(text), "private", "customers are not told the incident is private")
					require.NotContains(t, text, "Acme")
					for _, key := range keys {
						require.NotContains(t, text, key, "the internal key stays inside")
					}
				}
			}
			require.Equal(t, map[string]bool{want["checkout"]: true, want["search"]: true}, names)
		})
	}
}
