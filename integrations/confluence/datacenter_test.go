package confluence_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/confluence"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// pat is the personal access token the Data Center fake accepts.
const pat = "NjY2-personal-access-token"

// dcConfig is a Data Center client's configuration for b's fake.
func dcConfig(b bundle) confluence.Config {
	return confluence.Config{Flavor: confluence.DataCenter, BaseURL: b.fake.DataCenterURL(), APIToken: pat,
		SpaceID: "ENG", ParentID: b.parent}
}

func setupDC(t *testing.T, pageSize int) bundle {
	t.Helper()
	fake := confluencefake.New(confluencefake.Config{PersonalAccessToken: pat, Spaces: map[string]string{spaceID: "ENG"}, PageSize: pageSize})
	t.Cleanup(fake.Close)
	parent := fake.AddPage(spaceID, "", "Postmortems", "<p>All postmortems.</p>")
	b := bundle{fake: fake, parent: parent.ID}
	b.client = confluence.New(dcConfig(b))
	return b
}

func dcCalls(b bundle) []string {
	var out []string
	for _, c := range b.fake.Calls() {
		path, _, _ := strings.Cut(c.Path, "?")
		out = append(out, c.Method+" "+strings.TrimPrefix(path, "/confluence/rest/api")+" "+http.StatusText(c.Status))
	}
	return out
}

func TestDataCenterExportCreatesAndUpdatesThePage(t *testing.T) {
	t.Parallel()
	b := setupDC(t, 0)
	ctx := context.Background()

	first, err := b.client.Export(ctx, doc(`<h1>INC-42 &amp; friends</h1><p>v1</p>`), nil)
	require.NoError(t, err)
	pages := b.postmortems()
	require.Len(t, pages, 1)
	p := pages[0]
	require.Equal(t, title, p.Title)
	require.Equal(t, b.parent, p.ParentID, "created under the parent page")
	require.Equal(t, spaceID, p.SpaceID)
	require.Equal(t, `<h1>INC-42 &amp; friends</h1><p>v1</p>`, written(t, p))
	require.Equal(t, incident.ExportRef{Target: "confluence", ID: p.ID, Version: 1,
		URL: b.fake.DataCenterURL() + "/pages/viewpage.action?pageId=" + p.ID}, first)

	second, err := b.client.Export(ctx, doc("<p>v2</p>"), &first)
	require.NoError(t, err)
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, first.URL, second.URL)
	require.Equal(t, 2, second.Version)
	third, err := b.client.Export(ctx, doc("<p>v3</p>"), &second)
	require.NoError(t, err)
	require.Equal(t, 3, third.Version)

	pages = b.postmortems()
	require.Len(t, pages, 1, "no duplicate page")
	require.Equal(t, "<p>v3</p>", written(t, pages[0]))
	require.Equal(t, b.parent, pages[0].ParentID, "an update keeps the page where it is")
	require.Equal(t, []string{"POST /content OK",
		"GET /content/" + first.ID + " OK", "PUT /content/" + first.ID + " OK",
		"GET /content/" + first.ID + " OK", "PUT /content/" + first.ID + " OK"}, dcCalls(b))
	for _, c := range b.fake.Calls() {
		if c.Method == http.MethodPut {
			require.Positive(t, c.Version)
		}
	}
}

func TestDataCenterVersionConflictIsRetriedOnce(t *testing.T) {
	t.Parallel()
	b := setupDC(t, 0)
	ctx := context.Background()
	first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
	require.NoError(t, err)

	b.fake.Fail(confluencefake.Fault{Method: http.MethodPut, Status: http.StatusConflict, Message: "Version must be incremented on update. Current version is: 2"})
	ref, err := b.client.Export(ctx, doc("<p>v2</p>"), &first)
	require.NoError(t, err)
	require.Equal(t, 2, ref.Version)

	b.fake.Fail(confluencefake.Fault{Method: http.MethodPut, Status: http.StatusConflict, Times: 2})
	_, err = b.client.Export(ctx, doc("<p>v3</p>"), &ref)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "being edited by someone else")
	require.Equal(t, 2, b.postmortems()[0].Version)
}

func TestDataCenterPreviousPageDeletedCreatesANewOne(t *testing.T) {
	t.Parallel()
	b := setupDC(t, 0)
	ctx := context.Background()
	first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
	require.NoError(t, err)
	b.fake.Delete(first.ID)

	ref, err := b.client.Export(ctx, doc("<p>v2</p>"), &first)
	require.NoError(t, err)
	require.NotEqual(t, first.ID, ref.ID)
	require.Equal(t, 1, ref.Version)
	require.Len(t, b.postmortems(), 1)
}

func TestDataCenterTitleClashWithAPageNotMadeByTheBotLeavesItAlone(t *testing.T) {
	t.Parallel()
	b := setupDC(t, 0)
	ctx := context.Background()
	hand := b.fake.AddPage(spaceID, b.parent, title, "<p>the team's own notes</p>")

	ref, err := b.client.Export(ctx, doc("<p>draft</p>"), nil)
	require.NoError(t, err)
	require.NotEqual(t, hand.ID, ref.ID)
	pages := b.postmortems()
	require.Len(t, pages, 2)
	require.Equal(t, hand, pages[0], "the page made by hand is untouched")
	require.Equal(t, title+" (2)", pages[1].Title)

	again, err := b.client.Export(ctx, doc("<p>draft 2</p>"), &ref)
	require.NoError(t, err)
	require.Equal(t, ref.ID, again.ID)
	require.Equal(t, 2, again.Version)
	pages = b.postmortems()
	require.Len(t, pages, 2)
	require.Equal(t, title+" (2)", pages[1].Title)
	require.Equal(t, hand, pages[0])
}

func TestDataCenterCreateThatTookEffectButFailedIsNotDuplicated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("retried by the HTTP policy", func(t *testing.T) {
		t.Parallel()
		b := setupDC(t, 0)
		out := outbound.New(outbound.Policy{Provider: "confluence"}, outbound.WithSleep(func(context.Context, time.Duration) error { return nil }))
		cfg := dcConfig(b)
		cfg.HTTPClient = out.HTTPClient()
		b.fake.Fail(confluencefake.Fault{Method: http.MethodPost, Status: http.StatusBadGateway, AfterEffect: true})

		ref, err := confluence.New(cfg).Export(ctx, doc("<p>draft</p>"), nil)
		require.NoError(t, err)
		pages := b.postmortems()
		require.Len(t, pages, 1, "the page the lost answer created is found and updated")
		require.Equal(t, pages[0].ID, ref.ID)
		require.Equal(t, title, pages[0].Title)
	})
	t.Run("retried by the job", func(t *testing.T) {
		t.Parallel()
		b := setupDC(t, 0)
		b.fake.Fail(confluencefake.Fault{Method: http.MethodPost, Status: http.StatusInternalServerError, AfterEffect: true})
		_, err := b.client.Export(ctx, doc("<p>draft</p>"), nil)
		require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
		require.Len(t, b.postmortems(), 1, "the create took effect")

		ref, err := b.client.Export(ctx, doc("<p>draft</p>"), nil)
		require.NoError(t, err)
		pages := b.postmortems()
		require.Len(t, pages, 1)
		require.Equal(t, pages[0].ID, ref.ID)
		require.Equal(t, 2, ref.Version)
	})
}

func TestDataCenterOwnPageOnALaterPageOfResultsIsFoundAndUpdated(t *testing.T) {
	t.Parallel()
	b := setupDC(t, 1)
	hand := b.fake.AddPage(spaceID, "", title, "<p>the team's own notes</p>")
	own := b.fake.AddPage(spaceID, "", title, anchor+"<p>draft</p>")

	ref, err := b.client.Export(context.Background(), doc("<p>draft 2</p>"), nil)
	require.NoError(t, err)
	require.Equal(t, own.ID, ref.ID)
	require.Equal(t, 2, ref.Version)
	pages := b.postmortems()
	require.Len(t, pages, 2, "no page was added")
	require.Equal(t, hand, pages[0])
	require.Equal(t, anchor+"<p>draft 2</p>", pages[1].Body)

	var lookups []string
	for _, c := range b.fake.Calls() {
		if c.Method == http.MethodGet && strings.HasPrefix(c.Path, "/confluence/rest/api/content?") {
			lookups = append(lookups, c.Path)
		}
	}
	require.Len(t, lookups, 2, "the second page of results was read")
	require.Contains(t, lookups[1], "start=1")
}

func TestDataCenterTitleLimit(t *testing.T) {
	t.Parallel()
	b := setupDC(t, 0)
	d := doc("<p>draft</p>")
	d.Title = strings.Repeat("🔥", 200)
	ref, err := b.client.Export(context.Background(), d, nil)
	require.NoError(t, err)
	pages := b.postmortems()
	require.Len(t, pages, 1)
	require.Equal(t, ref.ID, pages[0].ID)
	require.LessOrEqual(t, len(utf16.Encode([]rune(pages[0].Title))), confluence.MaxTitleLength)
	require.True(t, utf8.ValidString(pages[0].Title))

	b.fake.Delete(ref.ID)
	b.fake.AddPage(spaceID, b.parent, pages[0].Title, "<p>by hand</p>")
	_, err = b.client.Export(context.Background(), d, nil)
	require.NoError(t, err)
	got := b.postmortems()
	require.Len(t, got, 2)
	require.True(t, strings.HasSuffix(got[1].Title, "… (2)"), got[1].Title)
	require.LessOrEqual(t, len(utf16.Encode([]rune(got[1].Title))), confluence.MaxTitleLength)
}

func TestDataCenterExportErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      func(*confluence.Config)
		fault    *confluencefake.Fault
		body     string
		code     string
		contains string
		check    func(t *testing.T, err error)
	}{
		{name: "wrong token", cfg: func(c *confluence.Config) { c.APIToken = "expired" }, code: incident.EFORBIDDEN,
			contains: "Confluence refused the personal access token"},
		{name: "forbidden", fault: &confluencefake.Fault{Status: http.StatusForbidden, Message: "Not permitted to create page"},
			code: incident.EFORBIDDEN, contains: "may not add or edit pages in the space ENG"},
		{name: "unknown space", cfg: func(c *confluence.Config) { c.SpaceID = "NOPE" }, code: incident.ENOTFOUND,
			contains: "the space NOPE"},
		{name: "unknown parent", cfg: func(c *confluence.Config) { c.ParentID = "1" }, code: incident.ENOTFOUND,
			contains: "parent page 1"},
		{name: "cloud URL path", cfg: func(c *confluence.Config) { c.BaseURL = strings.TrimSuffix(c.BaseURL, "/confluence") }, code: incident.ENOTFOUND,
			contains: "with its context path, such as https://confluence.example.com/confluence"},
		{name: "server error", fault: &confluencefake.Fault{Status: http.StatusInternalServerError}, code: incident.EUNAVAILABLE,
			contains: "Confluence is not responding (HTTP 500)",
			check: func(t *testing.T, err error) {
				var u *outbound.UnavailableError
				require.True(t, errors.As(err, &u))
			}},
		{name: "rate limited", fault: &confluencefake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "7"}, code: incident.EUNAVAILABLE,
			contains: "rate limiting",
			check: func(t *testing.T, err error) {
				wait, ok := outbound.RetryAfterAt(err, time.Now())
				require.True(t, ok)
				require.Equal(t, 7*time.Second, wait)
			}},
		{name: "malformed storage body", body: "<p>unclosed", code: incident.EINVALID, contains: "Error parsing xhtml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupDC(t, 0)
			cfg := dcConfig(b)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			if tt.fault != nil {
				b.fake.Fail(*tt.fault)
			}
			body := tt.body
			if body == "" {
				body = "<p>draft</p>"
			}
			_, err := confluence.New(cfg).Export(context.Background(), doc(body), nil)
			require.Error(t, err)
			require.Equal(t, tt.code, incident.ErrorCode(err), err.Error())
			require.Contains(t, incident.ErrorMessage(err), tt.contains)
			require.NotContains(t, err.Error(), pat, "the token never appears in an error")
			if tt.check != nil {
				tt.check(t, err)
			}
			require.Empty(t, b.postmortems())
		})
	}
}

func TestDataCenterThroughTheOutboundClient(t *testing.T) {
	t.Parallel()
	b := setupDC(t, 0)
	var waits []time.Duration
	out := outbound.New(outbound.Policy{Provider: "confluence"}, outbound.WithSleep(func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}))
	cfg := dcConfig(b)
	cfg.HTTPClient = out.HTTPClient()
	client := confluence.New(cfg)

	b.fake.Fail(confluencefake.Fault{Method: http.MethodPost, Status: http.StatusServiceUnavailable, Times: 2})
	ref, err := client.Export(context.Background(), doc("<p>x</p>"), nil)
	require.NoError(t, err)
	require.Equal(t, 1, ref.Version)
	require.Len(t, waits, 2)

	b.fake.Fail(confluencefake.Fault{Status: http.StatusServiceUnavailable, Times: 100})
	_, err = client.Export(context.Background(), doc("<p>y</p>"), &ref)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
}

func TestDataCenterBaseURLForms(t *testing.T) {
	t.Parallel()
	b := setupDC(t, 0)
	for i, base := range []string{b.fake.DataCenterURL() + "/", b.fake.DataCenterURL() + "/rest/api", b.fake.DataCenterURL() + "/rest/api/"} {
		cfg := dcConfig(b)
		cfg.BaseURL = base
		d := doc("<p>draft</p>")
		d.IncidentKey = "INC-" + string(rune('1'+i))
		ref, err := confluence.New(cfg).Export(context.Background(), d, nil)
		require.NoError(t, err, base)
		require.True(t, strings.HasPrefix(ref.URL, b.fake.DataCenterURL()+"/pages/viewpage.action?pageId="), ref.URL)
	}
	require.Len(t, b.postmortems(), 3)
}
