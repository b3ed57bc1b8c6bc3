package confluence_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/incident/postmortem/postmortemtest"
	"github.com/firebreakhq/firebreak/integrations/confluence"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
	"github.com/firebreakhq/firebreak/integrations/outbound"
	"github.com/firebreakhq/firebreak/templates"
)

const (
	email   = "bot@example.com"
	token   = "s3cr3t-token"
	spaceID = "131073"
)

// bundle is one test's fake Confluence and a client pointed at it.
type bundle struct {
	fake   *confluencefake.Server
	client *confluence.Client
	parent string
}

func setup(t *testing.T) bundle {
	t.Helper()
	fake := confluencefake.New(confluencefake.Config{Email: email, APIToken: token, Spaces: map[string]string{spaceID: "ENG"}})
	t.Cleanup(fake.Close)
	parent := fake.AddPage(spaceID, "", "Postmortems", "<p>All postmortems.</p>")
	client := confluence.New(confluence.Config{BaseURL: fake.URL() + "/", Email: email, APIToken: token, SpaceID: spaceID, ParentID: parent.ID})
	return bundle{fake: fake, client: client, parent: parent.ID}
}

func doc(body string) incident.PostmortemDoc {
	return incident.PostmortemDoc{
		IncidentKey: "INC-42", Title: "Checkout fails for card payments", Slug: "checkout-fails-for-card-payments",
		Date: time.Date(2026, 3, 14, 14, 5, 0, 0, time.UTC), Markdown: "# md",
		Confluence: body,
	}
}

const title = "Postmortem: INC-42 Checkout fails for card payments"

// anchor is the invisible macro that marks INC-42's page as the bot's.
const anchor = `<ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">firebreak-postmortem-INC-42</ac:parameter></ac:structured-macro>`

// written returns what the bot wrote on a page, after its anchor.
func written(t *testing.T, p confluencefake.Page) string {
	t.Helper()
	rest, ok := strings.CutPrefix(p.Body, anchor)
	require.True(t, ok, "the page starts with the bot's anchor")
	return rest
}

// postmortems returns the fake's pages other than the parent.
func (b bundle) postmortems() []confluencefake.Page {
	var out []confluencefake.Page
	for _, p := range b.fake.Pages() {
		if p.ID != b.parent {
			out = append(out, p)
		}
	}
	return out
}

func calls(b bundle) []string {
	var out []string
	for _, c := range b.fake.Calls() {
		path, _, _ := strings.Cut(c.Path, "?")
		out = append(out, c.Method+" "+strings.TrimPrefix(path, "/wiki/api/v2")+" "+http.StatusText(c.Status))
	}
	return out
}

func TestExportCreatesPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Equal(t, "Confluence", b.client.Name())
	var _ incident.Exporter = b.client

	ref, err := b.client.Export(context.Background(), doc(`<h1>INC-42 &amp; friends</h1><p>draft</p>`), nil)
	require.NoError(t, err)
	pages := b.postmortems()
	require.Len(t, pages, 1)
	p := pages[0]
	require.Equal(t, title, p.Title)
	require.Equal(t, b.parent, p.ParentID)
	require.Equal(t, spaceID, p.SpaceID)
	require.Equal(t, "current", p.Status)
	require.Equal(t, `<h1>INC-42 &amp; friends</h1><p>draft</p>`, written(t, p))
	require.Equal(t, incident.ExportRef{Target: "confluence", ID: p.ID, Version: 1,
		URL: b.fake.URL() + "/spaces/ENG/pages/" + p.ID + "/Postmortem:+INC-42+Checkout+fails+for+card+payments"}, ref)
	require.Equal(t, []string{"POST /pages OK"}, calls(b))
}

func TestReExportUpdatesTheSamePage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
	require.NoError(t, err)

	second, err := b.client.Export(ctx, doc("<p>v2</p>"), &first)
	require.NoError(t, err)
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, first.URL, second.URL)
	require.Equal(t, 2, second.Version)
	third, err := b.client.Export(ctx, doc("<p>v3</p>"), &second)
	require.NoError(t, err)
	require.Equal(t, 3, third.Version)

	pages := b.postmortems()
	require.Len(t, pages, 1, "no duplicate page")
	require.Equal(t, "<p>v3</p>", written(t, pages[0]))
	require.Equal(t, 3, pages[0].Version)
	require.Equal(t, []string{"POST /pages OK", "GET /pages/" + first.ID + " OK", "PUT /pages/" + first.ID + " OK",
		"GET /pages/" + first.ID + " OK", "PUT /pages/" + first.ID + " OK"}, calls(b))
}

func TestVersionConflictIsRetriedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
	require.NoError(t, err)

	// Someone saves between our read and our write, once.
	b.fake.Fail(confluencefake.Fault{Method: http.MethodPut, Status: http.StatusConflict, Message: "Version must be incremented on update. Current version is: 2"})
	ref, err := b.client.Export(ctx, doc("<p>v2</p>"), &first)
	require.NoError(t, err)
	require.Equal(t, 2, ref.Version)
	require.Equal(t, "<p>v2</p>", written(t, b.postmortems()[0]))

	// It keeps happening: give up with a conflict the user can act on.
	b.fake.Fail(confluencefake.Fault{Method: http.MethodPut, Status: http.StatusConflict, Times: 2})
	_, err = b.client.Export(ctx, doc("<p>v3</p>"), &ref)
	require.Error(t, err)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "being edited by someone else")
	require.Equal(t, 2, b.postmortems()[0].Version)
}

func TestFakeEnforcesVersionNumbers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ref, err := b.client.Export(context.Background(), doc("<p>v1</p>"), nil)
	require.NoError(t, err)
	for _, v := range []int{1, 3} {
		req, err := http.NewRequest(http.MethodPut, b.fake.URL()+"/api/v2/pages/"+ref.ID, strings.NewReader(
			`{"id":"`+ref.ID+`","status":"current","title":"t","body":{"representation":"storage","value":"<p/>"},"version":{"number":`+strconv.Itoa(v)+`}}`))
		require.NoError(t, err)
		req.SetBasicAuth(email, token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusConflict, resp.StatusCode, "version %d on a page at version 1", v)
	}
	last := b.fake.Calls()[len(b.fake.Calls())-1]
	require.Equal(t, 3, last.Version)
}

func TestPreviousPageDeletedCreatesANewOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
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

func TestExportErrors(t *testing.T) {
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
		{name: "wrong token", cfg: func(c *confluence.Config) { c.APIToken = "wrong" }, code: incident.EFORBIDDEN,
			contains: "Confluence refused the credentials"},
		{name: "forbidden", fault: &confluencefake.Fault{Status: http.StatusForbidden}, code: incident.EFORBIDDEN,
			contains: "may not add or edit pages in the space with id " + spaceID},
		{name: "unknown space", cfg: func(c *confluence.Config) { c.SpaceID = "999" }, code: incident.ENOTFOUND,
			contains: "space with id 999"},
		{name: "unknown parent", cfg: func(c *confluence.Config) { c.ParentID = "1" }, code: incident.ENOTFOUND,
			contains: "parent page 1"},
		{name: "server error", fault: &confluencefake.Fault{Status: http.StatusInternalServerError}, code: incident.EUNAVAILABLE,
			contains: "Confluence is not responding (HTTP 500)",
			check: func(t *testing.T, err error) {
				var u *outbound.UnavailableError
				require.True(t, errors.As(err, &u))
				require.Equal(t, 500, u.Status)
			}},
		{name: "rate limited", fault: &confluencefake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "7"}, code: incident.EUNAVAILABLE,
			contains: "rate limiting",
			check: func(t *testing.T, err error) {
				wait, ok := outbound.RetryAfterAt(err, time.Now())
				require.True(t, ok)
				require.Equal(t, 7*time.Second, wait)
			}},
		{name: "malformed storage body", body: "<p>unclosed", code: incident.EINVALID, contains: "Error parsing xhtml"},
		{name: "not configured", cfg: func(c *confluence.Config) { c.SpaceID = "" }, code: incident.EINVALID, contains: "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			cfg := confluence.Config{BaseURL: b.fake.URL(), Email: email, APIToken: token, SpaceID: spaceID, ParentID: b.parent}
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
			require.NotContains(t, err.Error(), token, "the token never appears in an error")
			require.NotContains(t, incident.ErrorMessage(err), token)
			if tt.check != nil {
				tt.check(t, err)
			}
			require.Empty(t, b.postmortems())
		})
	}
}

func TestTitleIsCutToConfluenceLimit(t *testing.T) {
	t.Parallel()
	d := doc("")
	d.Title = strings.Repeat("é", 300)
	got := confluence.Title(d)
	require.Equal(t, confluence.MaxTitleLength, len([]rune(got)))
	require.True(t, strings.HasPrefix(got, "Postmortem: INC-42 éé"))
	require.True(t, strings.HasSuffix(got, "…"))

	d.Title = "  multi\nline   title "
	require.Equal(t, "Postmortem: INC-42 multi line title", confluence.Title(d))
}

func TestExportRenderedPostmortem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	set, err := templates.Load("")
	require.NoError(t, err)
	in := postmortemtest.Replay()
	in.Incident.Title = `Checkout <fails> & "breaks"`
	pm, err := postmortem.Document(postmortem.Compile(in), set)
	require.NoError(t, err)

	ref, err := b.client.Export(context.Background(), pm, nil)
	require.NoError(t, err, "the fake parses the storage format strictly, as Confluence does")
	pages := b.postmortems()
	require.Len(t, pages, 1)
	require.Equal(t, `Postmortem: INC-42 Checkout <fails> & "breaks"`, pages[0].Title)
	require.Equal(t, pm.Confluence, written(t, pages[0]))
	require.Equal(t, 1, ref.Version)
}

func TestExportThroughTheOutboundClient(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var waits []time.Duration
	out := outbound.New(outbound.Policy{Provider: "confluence"}, outbound.WithSleep(func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}))
	client := confluence.New(confluence.Config{BaseURL: b.fake.URL(), Email: email, APIToken: token, SpaceID: spaceID, HTTPClient: out.HTTPClient()})

	// Two failures are retried away: the create is safe to resend.
	b.fake.Fail(confluencefake.Fault{Method: http.MethodPost, Status: http.StatusServiceUnavailable, Times: 2})
	ref, err := client.Export(context.Background(), doc("<p>x</p>"), nil)
	require.NoError(t, err)
	require.Equal(t, 1, ref.Version)
	require.Len(t, waits, 2)

	// Confluence stays down: the last 503 becomes EUNAVAILABLE.
	b.fake.Fail(confluencefake.Fault{Status: http.StatusServiceUnavailable, Times: 100})
	_, err = client.Export(context.Background(), doc("<p>y</p>"), &ref)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
}

func TestTitleClashWithAPageNotMadeByTheBotLeavesItAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	hand := b.fake.AddPage(spaceID, b.parent, title, "<p>the team's own notes</p>")

	ref, err := b.client.Export(ctx, doc("<p>draft</p>"), nil)
	require.NoError(t, err)
	require.NotEqual(t, hand.ID, ref.ID)
	require.Equal(t, 1, ref.Version)
	pages := b.postmortems()
	require.Len(t, pages, 2)
	require.Equal(t, "<p>the team's own notes</p>", pages[0].Body, "the page made by hand is untouched")
	require.Equal(t, 1, pages[0].Version)
	require.Equal(t, title+" (2)", pages[1].Title)

	// A re-export updates the bot's page and keeps its title.
	again, err := b.client.Export(ctx, doc("<p>draft 2</p>"), &ref)
	require.NoError(t, err)
	require.Equal(t, ref.ID, again.ID)
	require.Equal(t, 2, again.Version)
	pages = b.postmortems()
	require.Len(t, pages, 2)
	require.Equal(t, title+" (2)", pages[1].Title)
	require.Contains(t, pages[1].Body, "<p>draft 2</p>")
	require.Equal(t, 1, pages[0].Version)
}

func TestCreateThatTookEffectButFailedIsNotDuplicated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("retried by the HTTP policy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		out := outbound.New(outbound.Policy{Provider: "confluence"}, outbound.WithSleep(func(context.Context, time.Duration) error { return nil }))
		client := confluence.New(confluence.Config{BaseURL: b.fake.URL(), Email: email, APIToken: token, SpaceID: spaceID,
			ParentID: b.parent, HTTPClient: out.HTTPClient()})
		b.fake.Fail(confluencefake.Fault{Method: http.MethodPost, Status: http.StatusBadGateway, AfterEffect: true})

		ref, err := client.Export(ctx, doc("<p>draft</p>"), nil)
		require.NoError(t, err)
		pages := b.postmortems()
		require.Len(t, pages, 1, "the page the lost answer created is found and updated")
		require.Equal(t, pages[0].ID, ref.ID)
		require.Equal(t, title, pages[0].Title)
	})
	t.Run("retried by the job", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
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

func TestTitleLimitCountsWhatConfluenceCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := doc("<p>draft</p>")
	// Emoji are two UTF-16 units each: Confluence counts those.
	d.Title = strings.Repeat("🔥", 200)
	ref, err := b.client.Export(context.Background(), d, nil)
	require.NoError(t, err)
	pages := b.postmortems()
	require.Len(t, pages, 1)
	require.Equal(t, ref.ID, pages[0].ID)
	require.LessOrEqual(t, len(utf16.Encode([]rune(pages[0].Title))), confluence.MaxTitleLength)
	require.True(t, utf8.ValidString(pages[0].Title), "no emoji is cut in half")
	require.True(t, strings.HasSuffix(pages[0].Title, "🔥…"))

	// The numbered title of a clash stays within the limit too.
	b.fake.Delete(ref.ID)
	b.fake.AddPage(spaceID, b.parent, pages[0].Title, "<p>by hand</p>")
	_, err = b.client.Export(context.Background(), d, nil)
	require.NoError(t, err)
	got := b.postmortems()
	require.Len(t, got, 2)
	require.True(t, strings.HasSuffix(got[1].Title, "… (2)"), got[1].Title)
	require.LessOrEqual(t, len(utf16.Encode([]rune(got[1].Title))), confluence.MaxTitleLength)
}

func TestTitleDropsCharactersConfluenceRefuses(t *testing.T) {
	t.Parallel()
	d := doc("")
	d.Title = "bad\x00byte\x07bell\uFFFEnon-char <b>&amp; ]]>"
	require.Equal(t, "Postmortem: INC-42 badbytebellnon-char <b>&amp; ]]>", confluence.Title(d))
}

func TestSpaceGivenByKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	client := confluence.New(confluence.Config{BaseURL: b.fake.URL(), Email: email, APIToken: token, SpaceID: "ENG", ParentID: b.parent})
	ref, err := client.Export(ctx, doc("<p>draft</p>"), nil)
	require.NoError(t, err)
	pages := b.postmortems()
	require.Len(t, pages, 1)
	require.Equal(t, spaceID, pages[0].SpaceID)
	_, err = client.Export(ctx, doc("<p>again</p>"), &ref)
	require.NoError(t, err)

	missing := confluence.New(confluence.Config{BaseURL: b.fake.URL(), Email: email, APIToken: token, SpaceID: "NOPE"})
	_, err = missing.Export(ctx, doc("<p>draft</p>"), nil)
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "no space with key NOPE")
}

func TestSiteURLWithoutWikiPath(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fake, err := url.Parse(b.fake.URL())
	require.NoError(t, err)
	// Requests to https://acme.atlassian.net go to the fake, path unchanged.
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = fake.Scheme, fake.Host
		return http.DefaultTransport.RoundTrip(r)
	})
	for _, base := range []string{"https://acme.atlassian.net", "https://acme.atlassian.net/", "https://acme.atlassian.net/wiki/rest/api", "https://acme.atlassian.net/wiki/api/v2/"} {
		client := confluence.New(confluence.Config{BaseURL: base, Email: email, APIToken: token, SpaceID: spaceID,
			HTTPClient: &http.Client{Transport: rt}})
		d := doc("<p>draft</p>")
		d.IncidentKey = "INC-" + strconv.Itoa(len(b.postmortems())+1)
		ref, err := client.Export(context.Background(), d, nil)
		require.NoError(t, err, base)
		require.True(t, strings.HasPrefix(ref.URL, "https://acme.atlassian.net/wiki/spaces/ENG/pages/"), ref.URL)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRefusalsSayWhatToFix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.fake.Fail(confluencefake.Fault{Status: http.StatusForbidden, Message: "User not permitted to create page"})
	_, err := b.client.Export(ctx, doc("<p>draft</p>"), nil)
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "may not add or edit pages in the space with id "+spaceID)
	require.NotContains(t, incident.ErrorMessage(err), "API token", "the credentials were accepted")

	wrong := confluence.New(confluence.Config{BaseURL: b.fake.URL(), Email: email, APIToken: "expired", SpaceID: spaceID})
	_, err = wrong.Export(ctx, doc("<p>draft</p>"), nil)
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "check the account e-mail and API token")

	// A Data Center URL: there is no v2 API there.
	dc := confluence.New(confluence.Config{BaseURL: strings.TrimSuffix(b.fake.URL(), "/wiki") + "/confluence/rest/api", Email: email, APIToken: token, SpaceID: spaceID})
	_, err = dc.Export(ctx, doc("<p>draft</p>"), nil)
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "https://SITE.atlassian.net/wiki")
	require.Empty(t, b.postmortems())
}

func TestTypedTextNeverBecomesMarkup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	set, err := templates.Load("")
	require.NoError(t, err)
	hostile := `<ac:structured-macro ac:name="html"><ac:plain-text-body><![CDATA[<script>x</script>]]></ac:plain-text-body></ac:structured-macro> & ]]> bell` + "\x07\x1b" + ` 🔥 &nbsp; é`
	in := postmortemtest.Replay()
	in.Incident.Description = hostile
	in.Timeline = append(in.Timeline, incident.TimelineEvent{Kind: incident.EventNote, Actor: postmortemtest.Cara,
		At: postmortemtest.Declared().Add(time.Minute), Key: true, Text: hostile})
	in.ActionItems = append(in.ActionItems, incident.ActionItem{Text: hostile})
	pm, err := postmortem.Document(postmortem.Compile(in), set)
	require.NoError(t, err)

	_, err = b.client.Export(context.Background(), pm, nil)
	require.NoError(t, err, "Confluence accepts the body")
	body := written(t, b.postmortems()[0])
	require.NotContains(t, body, `<ac:structured-macro ac:name="html"`)
	require.NotContains(t, body, "<![CDATA[")
	require.NotContains(t, body, "\x07")
	require.Contains(t, body, `&lt;ac:structured-macro ac:name=&quot;html&quot;&gt;`)
	require.Contains(t, body, "&amp; ]]&gt; bell 🔥 &amp;nbsp; é")
}

func TestOwnPageOnALaterPageOfResultsIsFoundAndUpdated(t *testing.T) {
	t.Parallel()
	fake := confluencefake.New(confluencefake.Config{Email: email, APIToken: token, Spaces: map[string]string{spaceID: "ENG"}, PageSize: 1})
	t.Cleanup(fake.Close)
	client := confluence.New(confluence.Config{BaseURL: fake.URL(), Email: email, APIToken: token, SpaceID: spaceID})
	// A page made by hand and the bot's own (a create whose answer was
	// lost) both answer the title lookup; the bot's comes second.
	hand := fake.AddPage(spaceID, "", title, "<p>the team's own notes</p>")
	own := fake.AddPage(spaceID, "", title, anchor+"<p>draft</p>")

	ref, err := client.Export(context.Background(), doc("<p>draft 2</p>"), nil)
	require.NoError(t, err)
	require.Equal(t, own.ID, ref.ID)
	require.Equal(t, 2, ref.Version)
	pages := fake.Pages()
	require.Len(t, pages, 2, "no page was added")
	require.Equal(t, hand, pages[0], "the page made by hand is untouched")
	require.Equal(t, anchor+"<p>draft 2</p>", pages[1].Body)
	require.Equal(t, title, pages[1].Title)

	var lookups []string
	for _, c := range fake.Calls() {
		if c.Method == http.MethodGet && strings.HasPrefix(c.Path, "/wiki/api/v2/pages?") {
			lookups = append(lookups, c.Path)
		}
	}
	require.Len(t, lookups, 2, "the second page of results was read")
	require.Contains(t, lookups[1], "cursor=")
}

func TestTitleLookupStopsAtItsCap(t *testing.T) {
	t.Parallel()
	fake := confluencefake.New(confluencefake.Config{Email: email, APIToken: token, Spaces: map[string]string{spaceID: "ENG"}, PageSize: 1})
	t.Cleanup(fake.Close)
	client := confluence.New(confluence.Config{BaseURL: fake.URL(), Email: email, APIToken: token, SpaceID: spaceID})
	for range 40 {
		fake.AddPage(spaceID, "", title, "<p>by hand</p>")
	}
	ref, err := client.Export(context.Background(), doc("<p>draft</p>"), nil)
	require.NoError(t, err)
	require.Equal(t, 1, ref.Version)
	lookups := 0
	for _, c := range fake.Calls() {
		if c.Method == http.MethodGet && strings.HasPrefix(c.Path, "/wiki/api/v2/pages?") {
			lookups++
		}
	}
	require.Equal(t, 10, lookups, "one lookup reads at most 10 pages of results")
}
