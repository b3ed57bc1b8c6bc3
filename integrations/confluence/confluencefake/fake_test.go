package confluencefake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
)

func TestFakeEnforcesConfluenceRules(t *testing.T) {
	t.Parallel()
	fake := confluencefake.New(confluencefake.Config{Email: "a@example.com", APIToken: "t", Spaces: map[string]string{"1": "ENG", "2": "OPS"}})
	t.Cleanup(fake.Close)
	fake.AddPage("1", "", "Taken", "<p/>")

	send := func(user, pass, method, path, body string) (int, string) {
		t.Helper()
		return call(t, fake, user, pass, method, path, body)
	}
	page := func(space, title, repr, value string) string {
		return `{"spaceId":"` + space + `","status":"current","title":"` + title + `","body":{"representation":"` + repr + `","value":"` + value + `"}}`
	}

	tests := []struct {
		name       string
		user, pass string
		body       string
		status     int
		contains   string
	}{
		{"no auth", "", "", page("1", "A", "storage", "<p/>"), http.StatusUnauthorized, "Unauthorized"},
		{"wrong token", "a@example.com", "x", page("1", "A", "storage", "<p/>"), http.StatusUnauthorized, "Unauthorized"},
		{"unknown space", "a@example.com", "t", page("9", "A", "storage", "<p/>"), http.StatusNotFound, "Space not found"},
		{"wiki representation", "a@example.com", "t", page("1", "A", "wiki", "h1. x"), http.StatusBadRequest, "representation"},
		{"malformed xhtml", "a@example.com", "t", page("1", "A", "storage", "<p>"), http.StatusBadRequest, "Error parsing xhtml"},
		{"html entity", "a@example.com", "t", page("1", "A", "storage", "<p>&nbsp;</p>"), http.StatusBadRequest, "Error parsing xhtml"},
		{"empty title", "a@example.com", "t", page("1", " ", "storage", "<p/>"), http.StatusBadRequest, "must have a title"},
		{"title taken in the space", "a@example.com", "t", page("1", "Taken", "storage", "<p/>"), http.StatusBadRequest, "A page with this title already exists"},
		{"same title in another space", "a@example.com", "t", page("2", "Taken", "storage", "<p/>"), http.StatusOK, `"message":"","minorEdit":false,"number":1}`},
	}
	for _, tt := range tests {
		status, body := send(tt.user, tt.pass, http.MethodPost, "/api/v2/pages", tt.body)
		require.Equal(t, tt.status, status, tt.name)
		require.Contains(t, body, tt.contains, tt.name)
	}
	require.Len(t, fake.Pages(), 2)
	require.Len(t, fake.Calls(), len(tests))
	require.Equal(t, http.StatusUnauthorized, fake.Calls()[0].Status)

	status, body := send("a@example.com", "t", http.MethodGet, "/api/v2/pages?title=Taken&space-id=2", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 1, strings.Count(body, `"title":"Taken"`), "the search is per space")
}

func TestFakeTitleLengthBodyFormatSpacesAndLostAnswers(t *testing.T) {
	t.Parallel()
	fake := confluencefake.New(confluencefake.Config{Email: "a@example.com", APIToken: "t", Spaces: map[string]string{"1": "ENG"}})
	t.Cleanup(fake.Close)
	send := func(method, path, body string) (int, string) {
		t.Helper()
		return call(t, fake, "a@example.com", "t", method, path, body)
	}
	page := func(title string) string {
		return `{"spaceId":"1","status":"current","title":"` + title + `","body":{"representation":"storage","value":"<p>x</p>"}}`
	}

	// 128 emoji are 128 characters but 256 UTF-16 units.
	status, body := send(http.MethodPost, "/api/v2/pages", page(strings.Repeat("🔥", 128)))
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "255 characters")
	status, _ = send(http.MethodPost, "/api/v2/pages", page(strings.Repeat("🔥", 127)))
	require.Equal(t, http.StatusOK, status)

	status, body = send(http.MethodGet, "/api/v2/pages?space-id=1", "")
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, body, `"storage"`, "no body unless asked for")
	_, body = send(http.MethodGet, "/api/v2/pages?space-id=1&body-format=storage", "")
	require.Contains(t, body, `"storage"`)

	_, body = send(http.MethodGet, "/api/v2/spaces?keys=ENG", "")
	require.Contains(t, body, `"id":"1"`)
	_, body = send(http.MethodGet, "/api/v2/spaces?keys=NOPE", "")
	require.Contains(t, body, `"results":[]`)

	fake.Fail(confluencefake.Fault{Method: http.MethodPost, Status: http.StatusBadGateway, AfterEffect: true})
	status, _ = send(http.MethodPost, "/api/v2/pages", page("Saved"))
	require.Equal(t, http.StatusBadGateway, status)
	require.Len(t, fake.Pages(), 2, "the page was saved though the answer was a failure")
	fake.Fail(confluencefake.Fault{Method: http.MethodPost, Status: http.StatusBadGateway, AfterEffect: true})
	status, body = send(http.MethodPost, "/api/v2/pages", page("Saved"))
	require.Equal(t, http.StatusBadRequest, status, "a refusal is passed on as it is")
	require.Contains(t, body, "already exists")
	require.Len(t, fake.Pages(), 2)
}

// call sends one request to the fake, with Basic auth unless user is empty.
func call(t *testing.T, fake *confluencefake.Server, user, pass, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, fake.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestFakeListsPagesOnePageOfResultsAtATime(t *testing.T) {
	t.Parallel()
	fake := confluencefake.New(confluencefake.Config{Email: "a@example.com", APIToken: "t", Spaces: map[string]string{"1": "ENG"}, PageSize: 2})
	t.Cleanup(fake.Close)
	for _, title := range []string{"A", "B", "C"} {
		fake.AddPage("1", "", title, "<p/>")
	}
	var res struct {
		Results []struct {
			Title string `json:"title"`
		} `json:"results"`
		Links struct {
			Next string `json:"next"`
		} `json:"_links"`
	}
	status, body := call(t, fake, "a@example.com", "t", http.MethodGet, "/api/v2/pages?space-id=1&limit=100", "")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal([]byte(body), &res))
	require.Len(t, res.Results, 2, "the page size caps the limit asked for")
	require.True(t, strings.HasPrefix(res.Links.Next, "/wiki/api/v2/pages?"), res.Links.Next)

	status, body = call(t, fake, "a@example.com", "t", http.MethodGet, strings.TrimPrefix(res.Links.Next, "/wiki"), "")
	require.Equal(t, http.StatusOK, status)
	res.Links.Next = ""
	require.NoError(t, json.Unmarshal([]byte(body), &res))
	require.Len(t, res.Results, 1)
	require.Equal(t, "C", res.Results[0].Title)
	require.Empty(t, res.Links.Next, "no next link on the last page")

	status, body = call(t, fake, "a@example.com", "t", http.MethodGet, "/api/v2/pages?space-id=1&cursor=nonsense", "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body, "cursor")
	status, _ = call(t, fake, "a@example.com", "t", http.MethodGet, "/api/v2/pages?space-id=1&limit=251", "")
	require.Equal(t, http.StatusBadRequest, status)
}

func TestFakeDataCenterEnforcesItsRules(t *testing.T) {
	t.Parallel()
	fake := confluencefake.New(confluencefake.Config{Email: "a@example.com", APIToken: "t", PersonalAccessToken: "pat",
		Spaces: map[string]string{"1": "ENG"}, PageSize: 1})
	t.Cleanup(fake.Close)
	send := func(auth, method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, fake.DataCenterURL()+path, strings.NewReader(body))
		require.NoError(t, err)
		if auth == "basic" {
			req.SetBasicAuth("a@example.com", "t")
		} else if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	page := func(space, title, value string) string {
		return `{"type":"page","title":"` + title + `","space":{"key":"` + space + `"},"body":{"storage":{"value":"` + value + `","representation":"storage"}}}`
	}

	for _, auth := range []string{"", "basic", "wrong"} {
		status, body := send(auth, http.MethodPost, "/rest/api/content", page("ENG", "A", "<p/>"))
		require.Equal(t, http.StatusUnauthorized, status, auth)
		require.Contains(t, body, `"statusCode":401`)
	}
	status, _ := send("pat", http.MethodPost, "/api/v2/pages", `{}`)
	require.Equal(t, http.StatusNotFound, status, "Data Center has no v2 API")

	status, body := send("pat", http.MethodPost, "/rest/api/content", page("ENG", "A", "<p>v1</p>"))
	require.Equal(t, http.StatusOK, status, body)
	var created struct {
		ID      string `json:"id"`
		Version struct {
			Number int `json:"number"`
		} `json:"version"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	require.Equal(t, 1, created.Version.Number)

	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"title taken", http.MethodPost, "/rest/api/content", page("ENG", "A", "<p/>"), http.StatusBadRequest, "A page with this title already exists"},
		{"unknown space", http.MethodPost, "/rest/api/content", page("NOPE", "B", "<p/>"), http.StatusNotFound, "No space with key"},
		{"malformed xhtml", http.MethodPost, "/rest/api/content", page("ENG", "B", "<p>"), http.StatusBadRequest, "Error parsing xhtml"},
		{"no type", http.MethodPost, "/rest/api/content", `{"title":"B","space":{"key":"ENG"},"body":{"storage":{"value":"<p/>","representation":"storage"}}}`, http.StatusBadRequest, "type"},
		{"no version", http.MethodPut, "/rest/api/content/" + created.ID, page("ENG", "A", "<p/>"), http.StatusBadRequest, "No version supplied"},
		{"same version", http.MethodPut, "/rest/api/content/" + created.ID,
			`{"type":"page","title":"A","body":{"storage":{"value":"<p/>","representation":"storage"}},"version":{"number":1}}`, http.StatusConflict, "Current version is: 1"},
		{"skipped version", http.MethodPut, "/rest/api/content/" + created.ID,
			`{"type":"page","title":"A","body":{"storage":{"value":"<p/>","representation":"storage"}},"version":{"number":3}}`, http.StatusConflict, "Current version is: 1"},
		{"next version", http.MethodPut, "/rest/api/content/" + created.ID,
			`{"type":"page","title":"A","body":{"storage":{"value":"<p>v2</p>","representation":"storage"}},"version":{"number":2}}`, http.StatusOK, `"number":2`},
	}
	for _, tt := range tests {
		status, body := send("pat", tt.method, tt.path, tt.body)
		require.Equal(t, tt.status, status, tt.name+": "+body)
		require.Contains(t, body, tt.contains, tt.name)
	}

	// The version comes with a single page; the body only when expanded.
	_, body = send("pat", http.MethodGet, "/rest/api/content/"+created.ID, "")
	require.Contains(t, body, `"number":2`)
	require.NotContains(t, body, `"storage"`)
	_, body = send("pat", http.MethodGet, "/rest/api/content/"+created.ID+"?expand=body.storage", "")
	require.Contains(t, body, `\u003cp\u003ev2`)

	// Lists come a page at a time, with a next link relative to the base URL.
	_, _ = send("pat", http.MethodPost, "/rest/api/content", page("ENG", "B", "<p/>"))
	var list struct {
		Results []struct {
			Title string `json:"title"`
		} `json:"results"`
		Links struct {
			Next string `json:"next"`
		} `json:"_links"`
	}
	_, body = send("pat", http.MethodGet, "/rest/api/content?spaceKey=ENG&type=page&limit=25", "")
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Results, 1)
	require.Equal(t, "A", list.Results[0].Title)
	require.True(t, strings.HasPrefix(list.Links.Next, "/rest/api/content?"), list.Links.Next)
	_, body = send("pat", http.MethodGet, list.Links.Next, "")
	list.Links.Next = ""
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Equal(t, "B", list.Results[0].Title)
	require.Empty(t, list.Links.Next)
	require.Len(t, fake.Pages(), 2)
}

// Each version says who saved it, when and with which note, in the shape
// of each API: v2's authorId and createdAt, v1's by and when. A write
// through the API is the credentials' account's, with the message it
// carried; Edit is a person's save in the browser, with none. Cloud's user
// lookup names the accounts.
func TestFakeVersionsSayWhoSavedThem(t *testing.T) {
	t.Parallel()
	jane := confluencefake.User{AccountID: "5d2f0a1b9c8e7d0012345678", Username: "jdoe", UserKey: "8a7f808a1", DisplayName: "Jane Doe"}
	fake := confluencefake.New(confluencefake.Config{Email: "a@example.com", APIToken: "t", PersonalAccessToken: "pat",
		Spaces: map[string]string{"1": "ENG"}})
	t.Cleanup(fake.Close)
	send := func(method, path, body string) (int, string) {
		t.Helper()
		return call(t, fake, "a@example.com", "t", method, path, body)
	}
	type versionV2 struct {
		Number    int     `json:"number"`
		Message   *string `json:"message"`
		AuthorID  string  `json:"authorId"`
		CreatedAt string  `json:"createdAt"`
		MinorEdit *bool   `json:"minorEdit"`
	}
	var p struct {
		ID      string    `json:"id"`
		Version versionV2 `json:"version"`
	}
	status, body := send(http.MethodPost, "/api/v2/pages", `{"spaceId":"1","status":"current","title":"A","body":{"representation":"storage","value":"<p>v1</p>"}}`)
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	require.Equal(t, confluencefake.DefaultAccount.AccountID, p.Version.AuthorID, "saved as the credentials' account")
	created, err := time.Parse(time.RFC3339, p.Version.CreatedAt)
	require.NoError(t, err, p.Version.CreatedAt)
	require.WithinDuration(t, time.Now(), created, time.Minute)
	require.NotNil(t, p.Version.MinorEdit)

	status, body = send(http.MethodPut, "/api/v2/pages/"+p.ID, `{"id":"`+p.ID+`","status":"current","title":"A","body":{"representation":"storage","value":"<p>v2</p>"},"version":{"number":2,"message":"Updated by a bot"}}`)
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	require.Equal(t, 2, p.Version.Number)
	require.Equal(t, "Updated by a bot", *p.Version.Message, "the update's message is kept")
	require.Equal(t, confluencefake.DefaultAccount.AccountID, p.Version.AuthorID)

	require.NoError(t, fake.Edit(p.ID, "<p>the team's root cause</p>", jane))
	_, body = send(http.MethodGet, "/api/v2/pages/"+p.ID, "")
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	require.Equal(t, versionV2{Number: 3, Message: p.Version.Message, AuthorID: jane.AccountID, CreatedAt: p.Version.CreatedAt, MinorEdit: p.Version.MinorEdit}, p.Version)
	require.Empty(t, *p.Version.Message, "a save in the browser carries no message")
	stored := fake.Pages()[0]
	require.Equal(t, jane, stored.VersionBy)
	require.Equal(t, "<p>the team's root cause</p>", stored.Body)

	// Cloud's user lookup names the account; an unknown id is absent.
	status, body = send(http.MethodPost, "/api/v2/users-bulk", `{"accountIds":["`+jane.AccountID+`","nobody"]}`)
	require.Equal(t, http.StatusOK, status)
	var users struct {
		Results []struct {
			AccountID   string `json:"accountId"`
			DisplayName string `json:"displayName"`
			PublicName  string `json:"publicName"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &users))
	require.Len(t, users.Results, 1)
	require.Equal(t, jane.AccountID, users.Results[0].AccountID)
	require.Equal(t, "Jane Doe", users.Results[0].DisplayName)
	status, _ = send(http.MethodPost, "/api/v2/users-bulk", `{}`)
	require.Equal(t, http.StatusBadRequest, status)

	// Data Center's content API says who in by, and when in when.
	req, err := http.NewRequest(http.MethodGet, fake.DataCenterURL()+"/rest/api/content/"+p.ID+"?expand=version", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer pat")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var dc struct {
		Version struct {
			By struct {
				Type        string `json:"type"`
				Username    string `json:"username"`
				UserKey     string `json:"userKey"`
				DisplayName string `json:"displayName"`
			} `json:"by"`
			When    string  `json:"when"`
			Message *string `json:"message"`
			Number  int     `json:"number"`
		} `json:"version"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&dc))
	require.Equal(t, 3, dc.Version.Number)
	require.Equal(t, "known", dc.Version.By.Type)
	require.Equal(t, "jdoe", dc.Version.By.Username)
	require.Equal(t, "8a7f808a1", dc.Version.By.UserKey)
	require.Equal(t, "Jane Doe", dc.Version.By.DisplayName)
	require.NotNil(t, dc.Version.Message)
	_, err = time.Parse(time.RFC3339, dc.Version.When)
	require.NoError(t, err, dc.Version.When)
}
