package confluence

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// cloudAPI speaks Confluence Cloud's v2 REST API under /wiki/api/v2.
type cloudAPI struct{}

// root makes the configured URL the wiki root. Confluence Cloud serves its
// REST APIs under /wiki; without it every call is a 404.
func (cloudAPI) root(raw string) string {
	base := trimAPI(raw)
	if u, err := url.Parse(base); err == nil && u.Path == "" && strings.HasSuffix(strings.ToLower(u.Hostname()), ".atlassian.net") {
		base += "/wiki"
	}
	return base
}

// space returns the id of the configured space, looking a key up once:
// the v2 API takes the id.
func (cloudAPI) space(ctx context.Context, c *Client) (string, error) {
	if isID(c.cfg.SpaceID) {
		return c.cfg.SpaceID, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spaceID != "" {
		return c.spaceID, nil
	}
	var res struct {
		Results []struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"results"`
	}
	q := url.Values{"keys": {c.cfg.SpaceID}}
	status, msg, err := c.do(outbound.WithOperation(ctx, "spaces.find"), http.MethodGet, "/api/v2/spaces?"+q.Encode(), nil, &res)
	if err != nil {
		return "", fmt.Errorf("confluence find space: %w", err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("confluence find space: %w", c.statusError(status, msg, nil))
	}
	for _, sp := range res.Results {
		if strings.EqualFold(sp.Key, c.cfg.SpaceID) && sp.ID != "" {
			c.spaceID = sp.ID
			return sp.ID, nil
		}
	}
	return "", fmt.Errorf("confluence find space: %w", incident.Errorf(incident.ENOTFOUND,
		"Confluence has no space with key %s that the account can see: check the space key (or give its numeric id).", c.cfg.SpaceID))
}

func (cloudAPI) authorize(req *http.Request, cfg Config) {
	req.SetBasicAuth(cfg.Email, cfg.APIToken)
}

type storageBody struct {
	Representation string `json:"representation"`
	Value          string `json:"value"`
}

type createRequest struct {
	SpaceID  string      `json:"spaceId"`
	Status   string      `json:"status"`
	Title    string      `json:"title"`
	ParentID string      `json:"parentId,omitempty"`
	Body     storageBody `json:"body"`
}

type updateRequest struct {
	ID      string      `json:"id"`
	Status  string      `json:"status"`
	Title   string      `json:"title"`
	Body    storageBody `json:"body"`
	Version version     `json:"version"`
}

type version struct {
	Number  int    `json:"number"`
	Message string `json:"message,omitempty"`
}

// versionMessage is the note each version the client writes carries.
const versionMessage = "Updated by firebreak"

func (cloudAPI) createPath() string { return "/api/v2/pages" }

func (cloudAPI) createBody(space, parent, title, body string) any {
	return createRequest{SpaceID: space, Status: "current", Title: title, ParentID: parent,
		Body: storageBody{Representation: "storage", Value: body}}
}

func (cloudAPI) getPath(id string) string { return "/api/v2/pages/" + url.PathEscape(id) }

func (cloudAPI) putPath(id string) string { return "/api/v2/pages/" + url.PathEscape(id) }

func (cloudAPI) updateBody(id, title, body string, v int) any {
	return updateRequest{ID: id, Status: "current", Title: title,
		Body: storageBody{Representation: "storage", Value: body}, Version: version{Number: v, Message: versionMessage}}
}

func (cloudAPI) findPath(space, title, from string) string {
	q := url.Values{"title": {title}, "space-id": {space}, "status": {"current"}, "body-format": {"storage"},
		"limit": {strconv.Itoa(lookupLimit)}}
	if from != "" {
		q.Set("cursor", from)
	}
	return "/api/v2/pages?" + q.Encode()
}

func (cloudAPI) nextParam() string { return "cursor" }

func (cloudAPI) unauthorized() string {
	return "Confluence refused the credentials (HTTP 401): check the account e-mail and API token (Atlassian API tokens expire)."
}

func (cloudAPI) notFoundHint() string {
	return "that the URL is a Confluence Cloud wiki root such as https://SITE.atlassian.net/wiki (a Confluence Data Center site needs the datacenter flavor)."
}

// titleCQL leaves the space out: the client holds the space's v2 id, and
// each result's space id is checked instead (inSpace).
func (cloudAPI) titleCQL(_, phrase string) string {
	return `type = page AND title ~ "\"` + phrase + `\""`
}

// searchPath is the CQL content search of the v1 API, which Confluence
// Cloud keeps: v2 has no search.
func (cloudAPI) searchPath(cql, from string) string {
	q := url.Values{"cql": {cql}, "expand": {"body.storage,version,space"}, "limit": {strconv.Itoa(lookupLimit)}}
	if from != "" {
		q.Set("cursor", from)
	}
	return "/rest/api/content/search?" + q.Encode()
}

func (cloudAPI) searchNextParam() string { return "cursor" }

func (cloudAPI) inSpace(p page, space string) bool { return p.Space.ID.String() == space }

// editor looks the version's author up by account id (POST /users-bulk):
// the v2 page names no one else. A refused or empty lookup (the profile
// hidden, a missing scope) leaves the editor unnamed; it never fails the
// export.
func (cloudAPI) editor(ctx context.Context, c *Client, v pageVersion) string {
	if v.AuthorID == "" {
		return ""
	}
	var res struct {
		Results []struct {
			AccountID   string `json:"accountId"`
			DisplayName string `json:"displayName"`
			PublicName  string `json:"publicName"`
		} `json:"results"`
	}
	in := map[string][]string{"accountIds": {v.AuthorID}}
	status, msg, err := c.do(outbound.WithOperation(ctx, "users.lookup"), http.MethodPost, "/api/v2/users-bulk", in, &res)
	if err != nil || status != http.StatusOK {
		c.logger.Warn("confluence did not name the page's editor", slog.Int("status", status), slog.String("message", clip(msg)),
			slog.Any("err", err))
		return ""
	}
	for _, u := range res.Results {
		if u.AccountID == v.AuthorID {
			return clip(cmp.Or(u.DisplayName, u.PublicName))
		}
	}
	return ""
}
