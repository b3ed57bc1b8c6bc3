package bot

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
)

// memPage is a status page that keeps what is posted on it.
type memPage struct {
	mu    sync.Mutex
	posts []comms.PublicPost
}

func (p *memPage) Name() string  { return "statuspage" }
func (p *memPage) Title() string { return "Statuspage" }

func (p *memPage) Create(_ context.Context, post comms.PublicPost, _ bool) (comms.PublicIncident, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts = append(p.posts, post)
	return comms.PublicIncident{ID: "pub1", URL: "https://status.example.com/pub1", Status: post.Status}, nil
}

func (p *memPage) Update(_ context.Context, ref comms.PublicIncident, post comms.PublicPost, _ bool) (comms.PublicIncident, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts = append(p.posts, post)
	return ref, nil
}

func (p *memPage) SetComponents(context.Context, comms.PublicIncident, map[string]incident.ComponentStatus) error {
	return nil
}

// bodies returns the text of every post, oldest first.
func (p *memPage) bodies() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.posts))
	for _, post := range p.posts {
		out = append(out, post.Body)
	}
	return out
}

// newStatusPageTransport is the Slack HTTP surface over an incident of
// the checkout service, which is mapped to page.
func newStatusPageTransport(t *testing.T) (*transport, *memPage) {
	t.Helper()
	page := &memPage{}
	tr := newTransportWith(t, []comms.StatusPage{page}, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.StatusPage.Components = []string{"cmp-api"}
		p.Services["checkout"] = svc
	})
	return tr, page
}

// clickIn presses a button in the incident channel as user and returns
// what was answered to them alone.
func (tr *transport) clickIn(t *testing.T, user, actionID, value string) []slackfake.ResponsePost {
	t.Helper()
	r := tr.interact(t, slackfake.BlockActions(user, tr.inc.ChannelID, tr.inc.PanelTS, &slack.BlockAction{ActionID: actionID, Value: value}))
	return tr.srv.ResponsePosts(r.ResponseURL)
}

// statusPageForms counts the status page forms opened.
func (tr *transport) statusPageForms() int {
	n := 0
	for _, v := range tr.srv.OpenViews() {
		if v.CallbackID == ViewStatusPage {
			n++
		}
	}
	return n
}

// TestStatusPageFormIsRefusedBeforeItOpens: the edit form of a post on the
// public status page opens only for someone who may publish it (README,
// "Who may do what": the IC, the comms lead, the commander group and the
// publishers) and only while the post can still go out; anyone else is
// told why, and who can, instead of writing a message to be refused.
func TestStatusPageFormIsRefusedBeforeItOpens(t *testing.T) {
	tr, page := newStatusPageTransport(t)
	ack := strconv.FormatInt(tr.inc.ID, 10) + "|" + incident.PostAcknowledge + "|"

	posts := tr.clickIn(t, tr.other.ID, incident.ActionStatusPageEdit, ack)
	require.Zero(t, tr.statusPageForms(), "no form for someone who may not publish")
	require.Len(t, posts, 1)
	require.Contains(t, posts[0].Text, "You may not post this incident to the public status page")
	require.Contains(t, posts[0].Text, "<@"+tr.ic.ID+">", "it names who can")

	r := tr.command(t, tr.other.ID, tr.inc.ChannelID, "statuspage")
	require.Zero(t, tr.statusPageForms(), "nor from the command")
	require.Contains(t, string(r.Body), "You may not post this incident to the public status page")

	tr.clickIn(t, tr.ic.ID, incident.ActionStatusPageEdit, ack)
	require.Equal(t, 1, tr.statusPageForms(), "the IC edits the post")

	tr.command(t, tr.ic.ID, tr.inc.ChannelID, "resolve rolled back")
	tr.command(t, tr.ic.ID, tr.inc.ChannelID, "close")
	require.Equal(t, incident.StatusClosed, tr.incident(t).Status)
	posts = tr.clickIn(t, tr.ic.ID, incident.ActionStatusPageEdit, ack)
	require.Equal(t, 1, tr.statusPageForms(), "no form for a post a closed incident can no longer make")
	require.Len(t, posts, 1)
	require.Contains(t, posts[0].Text, "only the resolution notice can still be posted")
	require.Empty(t, page.bodies())
}

// TestStatusPageTextIsPlainForCustomers: what responders wrote in Slack
// reaches the public status page as customers can read it, whether typed
// with the command or quoted from an update by the draft: no Slack markup,
// no staff member named by id or name. Each status page form opened once
// the incident is public is its own update.
func TestStatusPageTextIsPlainForCustomers(t *testing.T) {
	tr, page := newStatusPageTransport(t)
	ctx := context.Background()
	// As Slack sends a command's text with escaping on (should_escape).
	text := "statuspage Payments fail for some customers; <@" + tr.other.ID + "|other> is on it, details at <https://example.com/status|our notes> &amp; in <#C0OPS|ops>."
	r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, text)
	require.Contains(t, string(r.Body), "Posting INC-1 to the status page")
	tr.queue.Run(t, comms.JobStatusPagePost)
	require.Equal(t, []string{"Payments fail for some customers; our team is on it, details at our notes (https://example.com/status) & in #ops."}, page.bodies())

	// An update quoting someone, mirrored on the page from its draft.
	tr.command(t, tr.ic.ID, tr.inc.ChannelID, "update Rolling back; <@"+tr.other.ID+"|other> watches the error rate")
	updates, err := tr.store.ListStatusUpdates(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, updates)
	tr.clickIn(t, tr.ic.ID, incident.ActionStatusPageEdit,
		strconv.FormatInt(tr.inc.ID, 10)+"|"+incident.PostUpdate+"|"+strconv.FormatInt(updates[len(updates)-1].ID, 10))
	form := tr.openedView(t, ViewStatusPage)
	require.Contains(t, string(form.JSON), "Rolling back; our team watches the error rate", "the form shows what customers will read")
	tr.clickIn(t, tr.ic.ID, incident.ActionStatusPagePublish,
		strconv.FormatInt(tr.inc.ID, 10)+"|"+incident.PostUpdate+"|"+strconv.FormatInt(updates[len(updates)-1].ID, 10))
	tr.queue.Run(t, comms.JobStatusPagePost)
	bodies := page.bodies()
	require.Len(t, bodies, 2)
	require.Contains(t, bodies[1], "Rolling back; our team watches the error rate")
	require.NotContains(t, bodies[1], "<@")
}

// TestEachStatusPageFormIsItsOwnUpdate: once the incident is public, each
// form "/incident statuspage" opens posts its own update; a second one is
// not taken for a repeat of the first.
func TestEachStatusPageFormIsItsOwnUpdate(t *testing.T) {
	tr, page := newStatusPageTransport(t)
	tr.command(t, tr.ic.ID, tr.inc.ChannelID, "statuspage We are looking into failing payments.")
	tr.queue.Run(t, comms.JobStatusPagePost)
	require.NotEmpty(t, tr.incident(t).PublicID)
	for i, body := range []string{"Error rates are back to normal for most customers.", "All customers can pay again; we keep watching."} {
		tr.clock.Advance(time.Minute)
		tr.command(t, tr.ic.ID, tr.inc.ChannelID, "statuspage")
		r := tr.submit(t, tr.ic.ID, tr.openedView(t, ViewStatusPage), map[string]map[string]slack.BlockAction{
			blockStatusPageBody: {blockStatusPageBody: {Value: body}}})
		require.NotContains(t, string(r.Body), "errors", "form %d", i+1)
		tr.queue.Run(t, comms.JobStatusPagePost)
	}
	bodies := page.bodies()
	require.Len(t, bodies, 3)
	require.True(t, strings.HasPrefix(bodies[2], "All customers can pay again"))
}
