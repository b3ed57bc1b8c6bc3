package web_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/web"
)

// TestListCursorTellsNothingOfHiddenIncidents: a page that stops after
// reading web.MaxListScan incidents the viewer may not see goes on after
// the last of them; its cursor, in the API and in the list page's link,
// must not say when that hidden incident was declared or what its ID is,
// since a hidden incident answers like a missing one everywhere else.
// A cursor altered by hand is refused.
func TestListCursorTellsNothingOfHiddenIncidents(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	ctx := context.Background()
	// The hidden incidents as a cursor in the clear would name them: the
	// declared time in microseconds and the ID.
	var hidden []string
	for i := range web.MaxListScan + 50 {
		inc, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(func(inc *incident.Incident) {
			inc.Title, inc.Private, inc.DeclaredAt = "hush-hush", true, t0.Add(-time.Duration(i+1)*time.Second)
		}))
		require.NoError(t, err)
		hidden = append(hidden, strconv.FormatInt(inc.DeclaredAt.UnixMicro(), 10))
	}
	reveals := func(cursor string) []string {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		require.NoError(t, err)
		var got []string
		for _, micros := range hidden {
			if strings.Contains(string(raw), micros) {
				got = append(got, string(raw))
			}
		}
		return got
	}

	admin := f.browser()
	admin.signIn(f.alice)
	bob := tokenOf(t, f, f.bob, "bob's", "read")
	page1 := listAPI(t, f, bob, "limit=5")
	require.Empty(t, page1.Incidents)
	require.NotNil(t, page1.NextCursor)
	require.Empty(t, reveals(*page1.NextCursor), "the API's cursor names a hidden incident's ID or declared time")
	page2 := listAPI(t, f, bob, "limit=5&"+next(page1))
	require.Equal(t, f.public.Number, page2.Incidents[0].Number, "the cursor still goes on past the hidden incidents")

	b := f.browser()
	b.signIn(f.bob)
	_, page := b.get("/incidents")
	_, older := listedOnPage(t, page)
	require.NotEmpty(t, older)
	u, err := url.Parse(strings.ReplaceAll(older, "&amp;", "&"))
	require.NoError(t, err)
	require.Empty(t, reveals(u.Query().Get("cursor")), "the list page's cursor names a hidden incident's ID or declared time")

	// A cursor changed by hand is not one the list handed out.
	forged := []byte(*page1.NextCursor)
	forged[len(forged)/2] ^= 1
	if forged[len(forged)/2] == '-' || forged[len(forged)/2] == '_' {
		forged[len(forged)/2] = 'A'
	}
	status, body := apiCall(t, f, bob, "GET", "/api/v1/incidents?cursor="+url.QueryEscape(string(forged)), "")
	require.Equal(t, 400, status, body)
	require.Contains(t, body, "The cursor is not one this list handed out")
}
