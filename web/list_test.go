package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/web"
)

// countingReader counts the incidents the web view reads from the store.
type countingReader struct {
	web.Reader
	mu          sync.Mutex
	rows, reads int
}

func (c *countingReader) ListIncidents(ctx context.Context, f incident.IncidentFilter) ([]*incident.Incident, error) {
	list, err := c.Reader.ListIncidents(ctx, f)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows += len(list)
	c.reads++
	return list, err
}

// take returns the incidents read, and the reads, since the last take.
func (c *countingReader) take() (rows, reads int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rows, reads, c.rows, c.reads = c.rows, c.reads, 0, 0
	return rows, reads
}

// setupCounting is setup with the web view reading through a countingReader.
func setupCounting(t *testing.T) (*fixture, *countingReader) {
	t.Helper()
	var counter *countingReader
	f := setup(t, withAdmin("U0BOB"), func(cfg *web.Config) {
		counter = &countingReader{Reader: cfg.Reader}
		cfg.Reader = counter
	})
	return f, counter
}

// apiPage is a page of GET /api/v1/incidents.
type apiPage struct {
	Incidents []struct {
		Number     int64     `json:"number"`
		Title      string    `json:"title"`
		DeclaredAt time.Time `json:"declared_at"`
	} `json:"incidents"`
	NextCursor *string `json:"next_cursor"`
}

func (p apiPage) numbers() []int64 {
	out := []int64{}
	for _, inc := range p.Incidents {
		out = append(out, inc.Number)
	}
	return out
}

func listAPI(t *testing.T, f *fixture, token, query string) apiPage {
	t.Helper()
	status, body := apiCall(t, f, token, http.MethodGet, "/api/v1/incidents?"+query, "")
	require.Equal(t, http.StatusOK, status, body)
	var page apiPage
	require.NoError(t, json.Unmarshal([]byte(body), &page))
	return page
}

func next(p apiPage) string { return "cursor=" + url.QueryEscape(*p.NextCursor) }

var (
	listedIncident = regexp.MustCompile(`<a href="/incidents/(\d+)">`)
	olderLink      = regexp.MustCompile(`<a id="older" rel="next" href="([^"]+)">`)
)

// listedOnPage returns the numbers of the incidents on a list page, and
// the link to the older ones ("" when there is none).
func listedOnPage(t *testing.T, page string) (numbers []int64, older string) {
	t.Helper()
	for _, m := range listedIncident.FindAllStringSubmatch(page, -1) {
		var n int64
		_, err := fmt.Sscan(m[1], &n)
		require.NoError(t, err)
		numbers = append(numbers, n)
	}
	if m := olderLink.FindStringSubmatch(page); m != nil {
		older = html.UnescapeString(m[1])
	}
	return numbers, older
}

// TestAPIListPagesPastPrivateIncidents: the API lists incidents newest
// first, a page at a time, each page full until the last, with no incident
// repeated or missed across pages, ties on the declared time included,
// while the incidents a token's user may not see are left out.
func TestAPIListPagesPastPrivateIncidents(t *testing.T) {
	t.Parallel()
	f, counter := setupCounting(t)
	ctx := context.Background()
	alicesRoom := f.slack.AddChannel(slackfake.Channel{Name: "inc-alice-only", Private: true, Members: []string{f.slack.BotUserID(), f.alice.ID}})
	incs := []*incident.Incident{f.public, f.private}
	for i := range 30 {
		inc, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(func(inc *incident.Incident) {
			inc.Title = fmt.Sprintf("incident %d", i)
			inc.DeclaredAt = t0.Add(-3*time.Hour - time.Duration(i/3)*time.Hour) // three at each time
			switch {
			case i == 7:
				inc.Private, inc.ChannelID = true, alicesRoom.ID
			case i%4 == 1:
				inc.Private = true // in nobody's channel
			}
		}))
		require.NoError(t, err)
		incs = append(incs, inc)
	}
	sort.Slice(incs, func(i, j int) bool { return incident.NewestFirst(incs[i], incs[j]) })
	want := map[string][]int64{}
	for _, inc := range incs {
		if !inc.Private {
			want["bob"] = append(want["bob"], inc.Number)
		}
		if !inc.Private || inc.ChannelID != "" {
			want["alice"] = append(want["alice"], inc.Number)
		}
	}
	require.Len(t, want["alice"], 2+30-8)

	admin := f.browser()
	admin.signIn(f.alice)
	tokens := map[string]string{"alice": createToken(t, admin, "alice's", "read", ""), "bob": tokenOf(t, f, f.bob, "bob's", "read")}
	for who, token := range tokens {
		counter.take()
		var got []int64
		page := listAPI(t, f, token, "limit=4")
		for {
			rows, _ := counter.take()
			require.LessOrEqual(t, rows, 4+1+250, "%s: a page reads a page and a batch more", who)
			got = append(got, page.numbers()...)
			if page.NextCursor == nil {
				break
			}
			require.Len(t, page.Incidents, 4, "%s: a page is full until the last", who)
			page = listAPI(t, f, token, "limit=4&"+next(page))
		}
		require.Equal(t, want[who], got, who)
	}
}

// TestListReadsABoundedNumberOfRows: a page of the API or of the list
// reads a page's worth of incidents from the store (and one more), not
// every incident ever declared; a viewer who may see few of them reads at
// most web.MaxListScan a request, and is led on past those.
func TestListReadsABoundedNumberOfRows(t *testing.T) {
	t.Parallel()
	f, counter := setupCounting(t)
	ctx := context.Background()
	mk := func(edit func(*incident.Incident)) {
		_, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(edit))
		require.NoError(t, err)
	}
	// Years of incidents: more than one request may read.
	history := web.MaxListScan + 500
	for i := range history {
		mk(func(inc *incident.Incident) {
			inc.Title = fmt.Sprintf("old incident %d", i)
			inc.Service = []string{"checkout", "payroll"}[i%2]
			inc.DeclaredAt = t0.Add(-72*time.Hour - time.Duration(i)*time.Hour)
			inc.Status = incident.StatusClosed
		})
	}
	admin := f.browser()
	admin.signIn(f.alice)
	alice := createToken(t, admin, "alice's", "read", "")
	bob := tokenOf(t, f, f.bob, "bob's", "read")

	counter.take()
	first := listAPI(t, f, alice, "limit=10")
	rows, reads := counter.take()
	require.Equal(t, 11, rows, "ten incidents, and one to tell that more follow")
	require.Equal(t, 1, reads)
	require.Len(t, first.Incidents, 10)
	second := listAPI(t, f, alice, "limit=10&"+next(first))
	rows, _ = counter.take()
	require.Equal(t, 11, rows)
	require.True(t, second.Incidents[0].DeclaredAt.Before(first.Incidents[9].DeclaredAt))

	// The list page, filtered, reads its 200 and one more, and links to the
	// next 200 with the same filters.
	_, page := admin.get("/incidents?service=checkout")
	rows, _ = counter.take()
	require.Equal(t, 201, rows)
	shown, older := listedOnPage(t, page)
	require.Len(t, shown, 200)
	require.Contains(t, older, "service=checkout")
	require.Contains(t, older, "cursor=")
	_, page = admin.get(older)
	rows, _ = counter.take()
	require.Equal(t, 201, rows)
	shownNext, _ := listedOnPage(t, page)
	require.Len(t, shownNext, 200)
	// The history was stored newest first: the older, the higher the number.
	require.Equal(t, shown[199]+2, shownNext[0], "the next page goes on where the first ended")
	require.Contains(t, page, `id="newest"`)

	// A flood of incidents bob may not see, newer than all the rest.
	flood := web.MaxListScan + 100
	for i := range flood {
		mk(func(inc *incident.Incident) {
			inc.Title, inc.Private, inc.DeclaredAt = "hush-hush", true, t0.Add(-time.Duration(i+1)*time.Second)
		})
	}
	total := history + flood + 3
	counter.take()
	page1 := listAPI(t, f, bob, "limit=5")
	rows, reads = counter.take()
	require.Equal(t, web.MaxListScan, rows, "one request reads at most MaxListScan of %d", total)
	require.LessOrEqual(t, reads, 4, "in a few growing reads")
	require.Empty(t, page1.Incidents, "nothing bob may see among those read")
	require.NotNil(t, page1.NextCursor, "but more to read")
	page2 := listAPI(t, f, bob, "limit=5&"+next(page1))
	rows, _ = counter.take()
	require.LessOrEqual(t, rows, web.MaxListScan)
	require.Len(t, page2.Incidents, 5)
	require.Equal(t, f.public.Number, page2.Incidents[0].Number, "past the flood and the private incident, the newest bob may see")
	for _, inc := range page2.Incidents {
		require.NotEqual(t, "hush-hush", inc.Title)
	}

	// And on the list page.
	b := f.browser()
	b.signIn(f.bob)
	counter.take()
	_, page = b.get("/incidents")
	rows, _ = counter.take()
	require.Equal(t, web.MaxListScan, rows)
	require.NotContains(t, page, "hush-hush")
	require.Contains(t, page, "None of the incidents looked at for this page are ones you may see")
	_, older = listedOnPage(t, page)
	require.NotEmpty(t, older)
	_, page = b.get(older)
	require.Contains(t, page, "checkout is down")
	require.NotContains(t, page, "hush-hush")
}

// TestListRefusesBadParameters: a limit or a cursor the list cannot use is
// a 400 that says what is wrong.
func TestListRefusesBadParameters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	token := createToken(t, admin, "alice's", "read", "")
	b64 := func(s string) string { return url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(s))) }
	for query, msg := range map[string]string{
		"limit=0":                   "limit must be a whole number between 1 and 1000",
		"limit=1001":                "limit must be a whole number between 1 and 1000",
		"limit=ten":                 "limit must be a whole number between 1 and 1000",
		"cursor=not%20a%20cursor":   "The cursor is not one this list handed out",
		"cursor=" + b64("12345"):    "The cursor is not one this list handed out",
		"cursor=" + b64("12345.0"):  "The cursor is not one this list handed out",
		"cursor=" + b64("x.7"):      "The cursor is not one this list handed out",
		"cursor=" + b64("12345.-7"): "The cursor is not one this list handed out",
	} {
		status, body := apiCall(t, f, token, http.MethodGet, "/api/v1/incidents?"+query, "")
		require.Equal(t, http.StatusBadRequest, status, query)
		require.Contains(t, body, `"code":"invalid"`, query)
		require.Contains(t, body, msg, query)
	}
	resp, page := admin.get("/incidents?status=open&cursor=garbage")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, page, "The cursor is not one this list handed out")

	// A cursor the list handed out reads on.
	first := listAPI(t, f, token, "limit=1")
	require.Len(t, first.Incidents, 1)
	rest := listAPI(t, f, token, next(first))
	require.NotEmpty(t, rest.Incidents)
	require.Nil(t, rest.NextCursor)
}
