package confluence_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/confluence"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
)

// flavor is one kind of Confluence the client speaks, with its fake and
// how its calls read.
type flavor struct {
	name   string
	setup  func(t *testing.T) bundle
	config func(b bundle) confluence.Config
	calls  func(b bundle) []string
	// page is the path of a page in calls, before its id.
	page string
}

// flavors runs a test against both APIs, with their calls named alike.
var flavors = []flavor{
	{name: "cloud", setup: setup, calls: calls, page: "/pages/",
		config: func(b bundle) confluence.Config {
			return confluence.Config{BaseURL: b.fake.URL(), Email: email, APIToken: token, SpaceID: spaceID, ParentID: b.parent}
		}},
	{name: "datacenter", setup: func(t *testing.T) bundle { return setupDC(t, 0) }, calls: dcCalls, page: "/content/", config: dcConfig},
}

// When others' pages hold the postmortem's title and its first numbered
// variants, one search finds them all, and the next free title is created
// at once: four calls, where trying each title took two a title.
func TestNumberedTitleTakenByOthersIsSkippedWithOneSearch(t *testing.T) {
	t.Parallel()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := f.setup(t)
			for _, tt := range []string{title, title + " (2)", title + " (3)"} {
				b.fake.AddPage(spaceID, b.parent, tt, "<p>the team's own notes</p>")
			}
			// A page elsewhere with the same words is no clash.
			b.fake.AddPage("999", "", title+" (4)", "<p>another space</p>")
			before := len(f.calls(b))

			ref, err := b.client.Export(context.Background(), doc("<p>draft</p>"), nil)
			require.NoError(t, err)
			got := f.calls(b)[before:]
			require.Len(t, got, 4, "create, look up the title, search the numbered ones, create: %v", got)
			require.Contains(t, got[2], "/content/search")
			pages := b.postmortems()
			require.Equal(t, title+" (4)", pages[len(pages)-1].Title)
			require.Equal(t, pages[len(pages)-1].ID, ref.ID)
			for _, p := range pages[:3] {
				require.Equal(t, 1, p.Version, "%s is untouched", p.Title)
			}
		})
	}
}

// The bot's own page under a numbered title, whose record was lost, is
// found by the same search and updated, not published again.
func TestOwnPageUnderANumberedTitleIsFoundBySearch(t *testing.T) {
	t.Parallel()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := f.setup(t)
			b.fake.AddPage(spaceID, b.parent, title, "<p>notes</p>")
			b.fake.AddPage(spaceID, b.parent, title+" (2)", "<p>more notes</p>")
			own := b.fake.AddPage(spaceID, b.parent, title+" (3)", anchor+"<p>first draft</p>")
			before := len(f.calls(b))

			ref, err := b.client.Export(context.Background(), doc("<p>second draft</p>"), nil)
			require.NoError(t, err)
			require.Equal(t, own.ID, ref.ID)
			require.Equal(t, 2, ref.Version)
			got := f.calls(b)[before:]
			require.Len(t, got, 5, "create, look up, search, then read and write the page: %v", got)
			require.Len(t, b.postmortems(), 3, "nothing published twice")
		})
	}
}

// Confluence's search trails its pages: the bot's page created moments
// ago under a numbered title, not yet searchable, is still found, by the
// create that clashes with it and the exact lookup after it.
func TestNumberedTitleMissedByALaggingSearchIsStillFound(t *testing.T) {
	t.Parallel()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := f.setup(t)
			b.fake.AddPage(spaceID, b.parent, title, "<p>notes</p>")
			b.fake.SetSearchLag(true)
			// The first export publishes "(2)"; its answer is lost.
			b.fake.Fail(confluencefake.Fault{Method: "POST", Status: 500, AfterEffect: true, Times: 2})
			_, err := b.client.Export(context.Background(), doc("<p>draft</p>"), nil)
			require.Error(t, err)
			require.Len(t, b.postmortems(), 2)

			ref, err := b.client.Export(context.Background(), doc("<p>draft again</p>"), nil)
			require.NoError(t, err)
			pages := b.postmortems()
			require.Len(t, pages, 2, "nothing published twice")
			require.Equal(t, pages[1].ID, ref.ID)
			require.Equal(t, title+" (2)", pages[1].Title)
			require.Equal(t, 2, ref.Version)
		})
	}
}

// A Confluence that refuses the search (an older Data Center without the
// CQL the bot sends) still gets the next free title, one by one.
func TestRefusedSearchFallsBackToTryingEachTitle(t *testing.T) {
	t.Parallel()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := f.setup(t)
			b.fake.AddPage(spaceID, b.parent, title, "<p>notes</p>")
			b.fake.AddPage(spaceID, b.parent, title+" (2)", "<p>more notes</p>")
			b.fake.Fail(confluencefake.Fault{PathContains: "/content/search", Status: http.StatusBadRequest, Message: "Could not parse cql"})

			ref, err := b.client.Export(context.Background(), doc("<p>draft</p>"), nil)
			require.NoError(t, err)
			pages := b.postmortems()
			require.Equal(t, title+" (3)", pages[len(pages)-1].Title)
			require.Equal(t, pages[len(pages)-1].ID, ref.ID)
		})
	}
}

// The fake refuses CQL it cannot read, as Confluence does.
func TestFakeSearchRefusesUnreadableCQL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := url.Values{"cql": {`title ~ "\"unclosed`}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, b.fake.URL()+"/rest/api/content/search?"+q.Encode(), nil)
	require.NoError(t, err)
	req.SetBasicAuth(email, token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
