package paging_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// sharedPagerDuty is one PagerDuty account, with Checkout's on-call, for
// several installations of the bot; now is PagerDuty's clock.
func sharedPagerDuty(t *testing.T, now func() time.Time) (*pdfake.Server, *pagerduty.Client) {
	t.Helper()
	fake := pdfake.New(pdfake.WithClock(now))
	t.Cleanup(fake.Close)
	fake.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1"})
	fake.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	fake.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	return fake, pagerduty.New(pagerduty.Config{APIURL: fake.URL(), EventsURL: fake.EventsURL(), Token: fake.Token(), FromEmail: "bot@example.com"})
}

func onCheckout(p *incident.Policy) {
	svc := p.Services["checkout"]
	svc.PagerDuty = incident.PagerDutyService{ServiceID: "PSVC1"}
	p.Services["checkout"] = svc
}

// TestAnotherInstallationsOpenPageIsNotTaken: the same bot on a database
// made anew (the default SQLite file deleted), or a second installation on
// the same PagerDuty account (staging beside production), numbers its
// incidents from 1 again. Its INC-1 pages under a key of its own
// installation, so PagerDuty opens a new incident and wakes on-call,
// rather than refusing the page as a duplicate of the other INC-1's, which
// Bob acknowledged already, and the bot taking that one for its page.
func TestAnotherInstallationsOpenPageIsNotTaken(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var first bundle
			fake, client := sharedPagerDuty(t, func() time.Time { return first.clock.Now() })
			first = setupInstalled(t, kind, client, "", onCheckout)
			readyAt(t, first, incident.P2)
			first.queue.RunAll(t)
			require.Len(t, fake.Incidents(), 1)
			onPhone(t, fake, fake.Incidents()[0].ID, "bob@example.com", "acknowledged")

			second := setupInstalled(t, kind, client, "", onCheckout)
			inc := readyAt(t, second, incident.P1)
			second.queue.RunAll(t)
			require.Len(t, fake.Incidents(), 2, "the second INC-1 opens its own PagerDuty incident")
			mine := fake.Incidents()[1]
			require.Equal(t, []string{"PUBOB"}, mine.Notified, "and wakes on-call")
			require.Equal(t, "triggered", mine.Status)
			require.NotEqual(t, fake.Incidents()[0].IncidentKey, mine.IncidentKey)
			pages, err := second.store.ListPages(ctx, inc.ID)
			require.NoError(t, err)
			require.Len(t, pages, 1)
			require.Equal(t, mine.ID, pages[0].ExternalID)
			require.Equal(t, "triggered", pages[0].Status)
		})
	}
}

// TestReplicasOnOneDatabaseShareTheirPageKeys: the installation's id is
// the database's, so every replica on it names a page alike, and a
// report about a page another replica sent is known as this
// installation's.
func TestReplicasOnOneDatabaseShareTheirPageKeys(t *testing.T) {
	t.Parallel()
	for _, kind := range []storeKind{storeSQLite, storePostgres} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var b bundle
			fake, client := sharedPagerDuty(t, func() time.Time { return b.clock.Now() })
			b = setupInstalled(t, kind, client, "", onCheckout)
			inc := readyAt(t, b, incident.P2)
			b.queue.RunAll(t)
			require.Len(t, fake.Incidents(), 1)
			key := fake.Incidents()[0].IncidentKey
			require.Regexp(t, `^firebreak-[a-z]{12}-1-checkout$`, key, "the installation's id is in the key")

			// Another paging service on the same database (a replica)
			// sends a page again: the key of its round names the same
			// installation.
			replica := setupReplica(t, b, client)
			_, err := replica.Page(ctx, inc.ID, "checkout", "U0DECL")
			require.NoError(t, err)
			b.queue.RunAll(t)
			require.Len(t, fake.Incidents(), 2)
			require.Equal(t, key+"-r1", fake.Incidents()[1].IncidentKey)
		})
	}
}

// TestPagesKeyedBeforeInstallationsWereNamedAreStillKnown: a page sent
// before the installation was named in page keys keeps its key
// (firebreak-<incident>-<service>): PagerDuty's reports of it apply, a
// raise adds the backup to it rather than paging anew, and a page sent
// again goes out under the installation's key.
func TestPagesKeyedBeforeInstallationsWereNamedAreStillKnown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, fake := pdEchoSetup(t, pdfake.WebhooksAfterAnswer)
	// INC-1, declared at P3 (which pages nobody), was paged by hand
	// before the upgrade: its page is stored under the old key.
	inc := readyAt(t, b, incident.P3)
	const old = "firebreak-1-checkout"
	client := pagerduty.New(pagerduty.Config{APIURL: fake.URL(), EventsURL: fake.EventsURL(), Token: fake.Token(), FromEmail: "bot@example.com"})
	sent, err := client.Page(ctx, incident.PageRequest{IncidentID: inc.ID, IncidentKey: inc.Key(), Title: inc.Title, Severity: incident.P3,
		Service: b.svc.Policy().Services["checkout"], Urgency: "low", DedupKey: old})
	require.NoError(t, err)
	sent.IncidentID, sent.Service = inc.ID, "checkout"
	require.NoError(t, b.store.AddPage(ctx, sent))
	require.NoError(t, fake.WaitWebhooks(ctx))
	b.queue.RunAll(t)

	onPhone(t, fake, sent.ExternalID, "bob@example.com", "acknowledged")
	require.NoError(t, fake.WaitWebhooks(ctx))
	b.queue.RunAll(t)
	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotNil(t, got.AcknowledgedAt, "PagerDuty's report of the old page applies")

	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	b.queue.RunAll(t)
	require.NoError(t, fake.WaitWebhooks(ctx))
	require.Len(t, fake.Incidents(), 1, "the raise adds the backup to the old page")
	pd, _ := fake.Incident(sent.ExternalID)
	require.ElementsMatch(t, []string{"PUBOB", "PUCAROL"}, pd.Assignees)

	_, err = b.pg.Page(ctx, inc.ID, "checkout", "U0DECL")
	require.NoError(t, err)
	b.queue.RunAll(t)
	require.Len(t, fake.Incidents(), 2)
	require.Equal(t, "firebreak-inst-1-checkout-r1", fake.Incidents()[1].IncidentKey)
}

// TestAnOlderOpenIncidentUnderThePagesKeyIsNotTaken: a database restored
// from a backup names its installation as before and numbers incidents
// from where the backup left off, so its next incident's page key may be
// that of an incident it no longer has, whose PagerDuty incident is still
// open and acknowledged. PagerDuty refuses the page as a duplicate; the
// open incident was opened before this incident was declared, so it is not
// taken for its page: the channel says nobody was paged, and Retry pages
// under a new key, which wakes on-call.
func TestAnOlderOpenIncidentUnderThePagesKeyIsNotTaken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var before bundle
	fake, client := sharedPagerDuty(t, func() time.Time { return before.clock.Now() })
	before = setupOn(t, storeMemory, client, onCheckout)
	readyAt(t, before, incident.P2)
	before.queue.RunAll(t)
	require.Len(t, fake.Incidents(), 1)
	onPhone(t, fake, fake.Incidents()[0].ID, "bob@example.com", "acknowledged")

	restored := setupOn(t, storeMemory, client, onCheckout) // the same installation, its INC-1 lost
	restored.clock.Advance(time.Hour)
	inc := readyAt(t, restored, incident.P2)
	restored.queue.RunAll(t)
	require.Len(t, fake.Incidents(), 1, "PagerDuty refused the duplicate")
	pages, err := restored.store.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, pages, "the other incident is not taken for this one's page")
	failed := postsContaining(restored.chat, inc.ChannelID, "Paging Checkout failed")
	require.Len(t, failed, 1, "%q", restored.chat.Posts[inc.ChannelID])
	require.Contains(t, failed[0], "it is not this incident's page")
	require.Contains(t, failed[0], "nobody was paged for INC-1")

	value := failed[0][strings.Index(failed[0], "[Retry page:page_retry=")+len("[Retry page:page_retry="):]
	value = value[:strings.LastIndex(value, "]")]
	require.True(t, json.Valid([]byte(value)), value)
	require.NoError(t, restored.pg.RetryPage(ctx, value, "U0DECL"))
	restored.queue.RunAll(t)
	require.Len(t, fake.Incidents(), 2, "Retry pages under a new key")
	mine := fake.Incidents()[1]
	require.Equal(t, "firebreak-inst-1-checkout-r1", mine.IncidentKey)
	require.Equal(t, []string{"PUBOB"}, mine.Notified)
	require.Len(t, postsContaining(restored.chat, inc.ChannelID, "Paged *Checkout* in PagerDuty: Bob Roe."), 1)
}

// setupReplica is another process's paging on b's database, with a job
// queue of its own: it reads the installation's id from the database.
func setupReplica(t *testing.T, b bundle, pager incident.Pager) *replica {
	t.Helper()
	q := incidenttest.NewQueue()
	pg := paging.New(paging.Config{Store: b.store, Core: b.svc, Chat: incident.MarkDrills(b.chat.Roles(), b.store), Pager: pager, Scheduler: q,
		Policy: b.svc.Policy(), Clock: b.clock})
	pg.RegisterJobs(q)
	return &replica{Service: pg, t: t, queue: q}
}

// replica is paging in another process; Page runs the jobs it schedules.
type replica struct {
	*paging.Service
	t     *testing.T
	queue *incidenttest.Queue
}

func (r *replica) Page(ctx context.Context, id int64, service, actor string) (*incident.Incident, error) {
	inc, err := r.Service.Page(ctx, id, service, actor)
	if err == nil {
		r.queue.RunAll(r.t)
	}
	return inc, err
}
