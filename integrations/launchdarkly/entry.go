package launchdarkly

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
)

// link is one entry of a _links object.
type link struct {
	Href string `json:"href"`
}

// auditLogCollection is a page of GET /api/v2/auditlog.
type auditLogCollection struct {
	Items []auditEntry `json:"items"`
	Links struct {
		Next link `json:"next"`
	} `json:"_links"`
}

// auditEntry is an audit log entry, and also a webhook payload: LaunchDarkly
// sends the same shape to both.
type auditEntry struct {
	ID          string `json:"_id"`
	Date        int64  `json:"date"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Comment     string `json:"comment"`
	TitleVerb   string `json:"titleVerb"`
	Title       string `json:"title"`
	Accesses    []struct {
		Action   string `json:"action"`
		Resource string `json:"resource"`
	} `json:"accesses"`
	Member *struct {
		Email     string `json:"email"`
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
	} `json:"member"`
	Token *struct {
		Name string `json:"name"`
	} `json:"token"`
	App *struct {
		Name string `json:"name"`
	} `json:"app"`
	Target *struct {
		Name      string   `json:"name"`
		Resources []string `json:"resources"`
	} `json:"target"`
	Links struct {
		Site      link `json:"site"`
		Canonical link `json:"canonical"`
	} `json:"_links"`
	PreviousVersion json.RawMessage `json:"previousVersion"`
	CurrentVersion  json.RawMessage `json:"currentVersion"`
}

// resource is a parsed resource specifier such as
// "proj/default:env/production:flag/checkout-v2;tag".
type resource struct {
	Project, Env, Flag string
}

// parseResource reads the proj, env and flag parts of a specifier; "*"
// reads as empty.
func parseResource(spec string) resource {
	var r resource
	for part := range strings.SplitSeq(spec, ":") {
		kind, val, ok := strings.Cut(part, "/")
		if !ok {
			continue
		}
		val, _, _ = strings.Cut(val, ";") // drop tags
		if val == "*" {
			val = ""
		}
		switch kind {
		case "proj":
			r.Project = val
		case "env":
			r.Env = val
		case "flag":
			r.Flag = val
		}
	}
	return r
}

// flagResource finds the flag the entry is about, preferring a specifier
// that names an environment.
func (e *auditEntry) flagResource() resource {
	var specs []string
	for _, a := range e.Accesses {
		specs = append(specs, a.Resource)
	}
	if e.Target != nil {
		specs = append(specs, e.Target.Resources...)
	}
	var best resource
	for _, s := range specs {
		r := parseResource(s)
		if r.Flag == "" {
			continue
		}
		if best.Flag == "" || (best.Env == "" && r.Env != "") {
			best = r
		}
	}
	if best.Flag == "" {
		// /api/v2/flags/{project}/{key}
		if rest, ok := strings.CutPrefix(e.Links.Canonical.Href, flagsPath+"/"); ok {
			rest, _, _ = strings.Cut(rest, "?")
			if p, k, ok := strings.Cut(rest, "/"); ok && k != "" && !strings.Contains(k, "/") {
				best = resource{Project: p, Flag: k}
			}
		}
	}
	return best
}

// descriptive are LaunchDarkly's flag actions (the `accesses` of an audit
// entry, named as in its role policies) that change what a flag says about
// itself, or what is proposed or planned for it, and not what it serves:
// a rename, a new tag or an approval request asked for is not a change that
// could have caused an incident, and offers nothing to roll back.
var descriptive = map[string]bool{
	"updateName": true, "updateDescription": true, "updateTags": true, "updateMaintainer": true,
	"updateTemporary": true, "updateDeprecated": true, "updateFlagCustomProperties": true,
	"updateFlagRuleDescription": true, "updateFlagCodeReferences": true, "manageFlagFollowers": true,
	"createFlagLink": true, "updateFlagLink": true, "deleteFlagLink": true,
	"createApprovalRequest": true, "updateApprovalRequest": true, "reviewApprovalRequest": true,
	"deleteApprovalRequest": true, "updateScheduledChanges": true, "updateFlagDefaultVariations": true,
	"createTriggers": true, "updateTriggers": true, "deleteTriggers": true, "updateVariationJsonSchema": true,
	"updateReleasePhaseStatus": true, "updateAttachedGoals": true, "deleteFlagAttachedGoalResults": true,
}

// describesOnly reports whether every action of the entry is descriptive.
// An entry that names no action, or an action not known here (LaunchDarkly
// adds some every year), is taken for a change.
func (e *auditEntry) describesOnly() bool {
	if len(e.Accesses) == 0 {
		return false
	}
	for _, a := range e.Accesses {
		if !descriptive[a.Action] {
			return false
		}
	}
	return true
}

// missing names what a flag entry that is more than a description lacks
// to be recorded as a change: its _id, its date, or the flag it is about.
// It is empty for other entries.
func (e *auditEntry) missing() []string {
	if e.Kind != "flag" || e.describesOnly() {
		return nil
	}
	var out []string
	if e.ID == "" {
		out = append(out, "_id")
	}
	if e.Date <= 0 {
		out = append(out, "date")
	}
	if e.flagResource().Flag == "" {
		out = append(out, "the flag (accesses, target.resources or _links.canonical)")
	}
	return out
}

// change maps a flag entry to a ChangeEvent; ok is false for entries that
// are not about a flag, or only about how it is described (describesOnly).
// siteBase resolves relative UI links. ref fills in the project and
// environment an entry leaves out.
func (e *auditEntry) change(siteBase string, ref incident.FlagRef) (incident.ChangeEvent, bool) {
	if e.Kind != "flag" || e.ID == "" || e.Date <= 0 || e.describesOnly() {
		return incident.ChangeEvent{}, false
	}
	r := e.flagResource()
	if r.Flag == "" {
		return incident.ChangeEvent{}, false
	}
	if r.Project == "" {
		r.Project = projectOf(ref.Project)
	}
	if r.Env == "" {
		r.Env = ref.Environment
	}
	data := map[string]string{"project": r.Project, "flag": r.Flag}
	prevVer, _, _ := versionOf(e.PreviousVersion, r.Env)
	curVer, on, onKnown := versionOf(e.CurrentVersion, r.Env)
	if prevVer != "" {
		data["previous_version"] = prevVer
	}
	if curVer != "" {
		data["current_version"] = curVer
	}
	if !onKnown {
		on, onKnown = onFromVerb(e.TitleVerb)
	}
	if onKnown {
		data["on"] = strconv.FormatBool(on)
	}
	if e.Comment != "" {
		data["comment"] = e.Comment
	}
	return incident.ChangeEvent{
		Source:      Source,
		ExternalID:  e.ID,
		Kind:        incident.ChangeFlag,
		Summary:     e.summary(r),
		Actor:       e.actor(),
		URL:         absURL(siteBase, e.Links.Site.Href),
		Environment: r.Env,
		Ref:         r.Flag,
		OccurredAt:  time.UnixMilli(e.Date).UTC(),
		Data:        data,
	}, true
}

// summary reads like "Turned off the flag Checkout v2 in production".
func (e *auditEntry) summary(r resource) string {
	name := e.Name
	if name == "" {
		name = r.Flag
	}
	var s string
	switch {
	case e.TitleVerb != "":
		s = e.TitleVerb + " " + name
	case e.Title != "":
		s = stripMarkdown(e.Title)
	default:
		s = "changed the flag " + name
	}
	if r.Env != "" && !namesEnv(s, name, r.Env) {
		s += " in " + r.Env
	}
	return upperFirst(s)
}

// namesEnv reports whether the sentence s already says the change was in
// env ("... in production", "... in `Production`"); the flag's own name,
// such as "test flag" in the environment test, does not count.
func namesEnv(s, name, env string) bool {
	rest := strings.ToLower(s)
	if name != "" {
		rest = strings.ReplaceAll(rest, strings.ToLower(name), "")
	}
	return strings.Contains(rest, " in "+strings.ToLower(env))
}

// actor names who made the change: a member by e-mail, else by name, else
// the API token or integration that did.
func (e *auditEntry) actor() string {
	switch {
	case e.Member != nil && e.Member.Email != "":
		return e.Member.Email
	case e.Member != nil && strings.TrimSpace(e.Member.FirstName+" "+e.Member.LastName) != "":
		return strings.TrimSpace(e.Member.FirstName + " " + e.Member.LastName)
	case e.Token != nil && e.Token.Name != "":
		return e.Token.Name
	case e.App != nil && e.App.Name != "":
		return e.App.Name
	}
	return ""
}

// versionOf reads a previousVersion/currentVersion value: either a version
// number or a flag object with _version and environments.<env>.on.
func versionOf(raw json.RawMessage, env string) (version string, on, onKnown bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, false
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), false, false
	}
	var flag struct {
		Version      *int64 `json:"_version"`
		Environments map[string]struct {
			On *bool `json:"on"`
		} `json:"environments"`
	}
	if err := json.Unmarshal(raw, &flag); err != nil {
		return "", false, false
	}
	if flag.Version != nil {
		version = strconv.FormatInt(*flag.Version, 10)
	}
	if st, ok := flag.Environments[env]; ok && st.On != nil {
		return version, *st.On, true
	}
	return version, false, false
}

// onFromVerb derives the flag state from a title verb such as "turned off
// the flag"; the wording is LaunchDarkly's and may change.
func onFromVerb(verb string) (on, known bool) {
	v := strings.ToLower(verb)
	switch {
	case strings.Contains(v, "turned on"):
		return true, true
	case strings.Contains(v, "turned off"):
		return false, true
	}
	return false, false
}

// absURL resolves a site-relative href against base.
func absURL(base, href string) string {
	switch {
	case href == "":
		return ""
	case strings.HasPrefix(href, "http://"), strings.HasPrefix(href, "https://"):
		return href
	}
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(href, "/")
}

// stripMarkdown turns a title such as "[Ann](mailto:a@x) turned off
// [Flag](/p/e/features/f)" into plain text by dropping link targets and
// emphasis.
func stripMarkdown(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '`', '[':
			continue
		case ']':
			if i+1 < len(s) && s[i+1] == '(' {
				if end := strings.IndexByte(s[i:], ')'); end > 0 {
					i += end
				}
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return strings.TrimSpace(b.String())
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func sortNewestFirst(cs []incident.ChangeEvent) {
	slices.SortStableFunc(cs, func(a, b incident.ChangeEvent) int {
		return b.OccurredAt.Compare(a.OccurredAt)
	})
}

// siteLink is the flag's targeting page in LaunchDarkly's UI.
func siteLink(base, project, env, key string) string {
	return fmt.Sprintf("%s/%s/%s/features/%s", strings.TrimRight(base, "/"), project, env, key)
}
