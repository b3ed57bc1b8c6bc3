package confluencefake

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/firebreakhq/firebreak/httpjson"
)

// User is an account of the fake's site: a person who edits pages in the
// browser, or the account the API credentials belong to. Cloud names an
// account by its AccountID (a version's authorId); Data Center by its
// Username and UserKey (a version's by).
type User struct {
	AccountID   string
	Username    string
	UserKey     string
	DisplayName string
}

// DefaultAccount is the account the API credentials belong to when
// Config.Account is not set: every version written through the API is
// saved as this account's.
var DefaultAccount = User{AccountID: "712020:0b1e7a9f-firebreak-bot", Username: "firebreak", UserKey: "8a7f80866e9b1c2d016e9b1c7e5a0001",
	DisplayName: "firebreak"}

// someone is who saved the pages AddPage puts in the space by hand.
var someone = User{AccountID: "5b10a2844c20165700ede21g", Username: "mkrystof", UserKey: "8a7f80866e9b1c2d016e9b1c7e5a0002",
	DisplayName: "Mia Krystof"}

// account is the account the API credentials belong to.
func (c Config) account() User {
	if c.Account.AccountID == "" && c.Account.Username == "" {
		return DefaultAccount
	}
	return c.Account
}

// stamp is the time a version is saved at, to the millisecond as
// Confluence keeps it.
func stamp() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// versionTime renders a version's time as both APIs do:
// "2026-03-14T15:02:03.123Z".
func versionTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// saved records who saved the page's current version, when, and with
// which note.
func (p *Page) saved(by User, message string) {
	p.VersionBy, p.VersionMessage, p.VersionWhen = by, message, stamp()
}

// versionV2 renders the current version as Cloud's v2 API does (the
// Version object of a page): the author by account id, and createdAt.
func versionV2(p *Page) map[string]any {
	return map[string]any{"number": p.Version, "message": p.VersionMessage, "minorEdit": false,
		"authorId": p.VersionBy.AccountID, "createdAt": versionTime(p.VersionWhen)}
}

// versionV1 renders the current version as the v1 content API does (Data
// Center's, and Cloud's search): the author in by, the time in when. On
// Cloud by names the account by accountId; on Data Center by username and
// userKey.
func versionV1(p *Page, base string, cloud bool) map[string]any {
	by := map[string]any{"type": "known", "displayName": p.VersionBy.DisplayName,
		"profilePicture": map[string]any{"path": "/images/icons/profilepics/default.svg", "width": 48, "height": 48, "isDefault": true}}
	if cloud {
		by["accountId"], by["accountType"], by["publicName"] = p.VersionBy.AccountID, "atlassian", p.VersionBy.DisplayName
		by["_links"] = map[string]any{"self": base + "/rest/api/user?accountId=" + p.VersionBy.AccountID}
	} else {
		by["username"], by["userKey"] = p.VersionBy.Username, p.VersionBy.UserKey
		by["_links"] = map[string]any{"self": base + "/rest/api/user?key=" + p.VersionBy.UserKey}
	}
	return map[string]any{"by": by, "when": versionTime(p.VersionWhen), "message": p.VersionMessage,
		"number": p.Version, "minorEdit": false, "hidden": false}
}

// directory is the accounts the site knows, by account id. The Server's
// mu guards it.
type directory map[string]User

func (d directory) add(u User) {
	if u.AccountID != "" {
		d[u.AccountID] = u
	}
}

// bulk answers Cloud's POST /api/v2/users-bulk {"accountIds":[...]} with
// the accounts it knows of those ids; an unknown id is simply absent.
func (d directory) bulk(w http.ResponseWriter, raw []byte) {
	var req struct {
		AccountIDs []string `json:"accountIds"`
	}
	if err := json.Unmarshal(raw, &req); err != nil || len(req.AccountIDs) == 0 {
		writeError(w, http.StatusBadRequest, "accountIds is required")
		return
	}
	results := []map[string]any{}
	for _, id := range slices.Compact(slices.Sorted(slices.Values(req.AccountIDs))) {
		if u, ok := d[id]; ok {
			results = append(results, map[string]any{"accountId": u.AccountID, "accountType": "atlassian", "accountStatus": "active",
				"displayName": u.DisplayName, "publicName": u.DisplayName, "isExternalCollaborator": false,
				"profilePicture": map[string]any{"path": "/wiki/aa-avatar/" + u.AccountID, "width": 48, "height": 48, "isDefault": false}})
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"results": results, "_links": map[string]any{}})
}
