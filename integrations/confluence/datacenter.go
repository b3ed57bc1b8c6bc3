package confluence

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// dataCenterAPI speaks the REST API of Confluence Data Center and Server
// (/rest/api/content), which names spaces by key and takes a personal
// access token as a bearer token. Data Center has no v2 API.
type dataCenterAPI struct{}

// root keeps the configured URL with its context path (often /confluence):
// a Data Center site's API hangs from wherever it is installed.
func (dataCenterAPI) root(raw string) string { return trimAPI(raw) }

// space returns the configured key: Data Center's API takes it as it is.
func (dataCenterAPI) space(_ context.Context, c *Client) (string, error) {
	return c.cfg.SpaceID, nil
}

func (dataCenterAPI) authorize(req *http.Request, cfg Config) {
	req.Header.Set("Authorization", "Bearer "+cfg.APIToken)
}

type spaceRef struct {
	Key string `json:"key"`
}

type contentRef struct {
	ID string `json:"id"`
}

type contentBody struct {
	Storage storageBody `json:"storage"`
}

type contentRequest struct {
	ID        string       `json:"id,omitempty"`
	Type      string       `json:"type"`
	Status    string       `json:"status"`
	Title     string       `json:"title"`
	Space     *spaceRef    `json:"space,omitempty"`
	Ancestors []contentRef `json:"ancestors,omitempty"`
	Body      contentBody  `json:"body"`
	Version   *version     `json:"version,omitempty"`
}

func (dataCenterAPI) createPath() string { return "/rest/api/content" }

func (dataCenterAPI) createBody(space, parent, title, body string) any {
	req := contentRequest{Type: "page", Status: "current", Title: title, Space: &spaceRef{Key: space},
		Body: contentBody{Storage: storageBody{Representation: "storage", Value: body}}}
	if parent != "" {
		req.Ancestors = []contentRef{{ID: parent}}
	}
	return req
}

func (dataCenterAPI) getPath(id string) string {
	return "/rest/api/content/" + url.PathEscape(id) + "?expand=version"
}

func (dataCenterAPI) putPath(id string) string { return "/rest/api/content/" + url.PathEscape(id) }

// updateBody leaves the space and the ancestors out, so a page someone
// moved stays where they put it.
func (dataCenterAPI) updateBody(id, title, body string, v int) any {
	return contentRequest{ID: id, Type: "page", Status: "current", Title: title,
		Body:    contentBody{Storage: storageBody{Representation: "storage", Value: body}},
		Version: &version{Number: v, Message: versionMessage}}
}

func (dataCenterAPI) findPath(space, title, from string) string {
	q := url.Values{"type": {"page"}, "spaceKey": {space}, "title": {title}, "status": {"current"},
		"expand": {"body.storage,version"}, "limit": {strconv.Itoa(lookupLimit)}}
	if from != "" {
		q.Set("start", from)
	}
	return "/rest/api/content?" + q.Encode()
}

func (dataCenterAPI) nextParam() string { return "start" }

func (dataCenterAPI) unauthorized() string {
	return "Confluence refused the personal access token (HTTP 401): check the token; personal access tokens expire or are revoked in the account's profile."
}

// notFoundHint also names the token: Data Center may treat a token it does
// not know as an anonymous visitor, who sees no space, instead of refusing
// it (CONFSERVER-98199).
func (dataCenterAPI) notFoundHint() string {
	return "that the URL is the Confluence base URL with its context path, such as https://confluence.example.com/confluence, and that the personal access token is valid."
}

func (dataCenterAPI) titleCQL(space, phrase string) string {
	return `type = page AND space = "` + space + `" AND title ~ "\"` + phrase + `\""`
}

func (dataCenterAPI) searchPath(cql, from string) string {
	q := url.Values{"cql": {cql}, "expand": {"body.storage,version,space"}, "limit": {strconv.Itoa(lookupLimit)}}
	if from != "" {
		q.Set("start", from)
	}
	return "/rest/api/content/search?" + q.Encode()
}

func (dataCenterAPI) searchNextParam() string { return "start" }

func (dataCenterAPI) inSpace(p page, space string) bool { return strings.EqualFold(p.Space.Key, space) }

// editor is the display name the version's by gives, with the page.
func (dataCenterAPI) editor(_ context.Context, _ *Client, v pageVersion) string {
	return clip(cmp.Or(v.By.DisplayName, v.By.Username))
}
