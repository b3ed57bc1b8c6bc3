package unleash

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// event is an Unleash event, as the event search returns it and as the
// webhook integration posts it.
type event struct {
	ID          int64     `json:"id"`
	Type        string    `json:"type"`
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	FeatureName string    `json:"featureName"`
}

// changeTypes lists the event types that change how a flag evaluates, with
// the summary each gets; other events (tags, favourites, metadata) are not
// changes to production.
var changeTypes = map[string]string{
	"feature-environment-enabled":          "Enabled %s",
	"feature-environment-disabled":         "Disabled %s",
	"feature-strategy-add":                 "Added a strategy to %s",
	"feature-strategy-update":              "Updated a strategy of %s",
	"feature-strategy-remove":              "Removed a strategy from %s",
	"strategy-order-changed":               "Reordered the strategies of %s",
	"feature-dependency-added":             "Added a dependency to %s",
	"feature-dependency-removed":           "Removed a dependency of %s",
	"feature-dependencies-removed":         "Removed the dependencies of %s",
	"feature-updated":                      "Updated %s",
	"feature-variants-updated":             "Updated the variants of %s",
	"feature-environment-variants-updated": "Updated the variants of %s",
	"feature-archived":                     "Archived %s",
	"feature-revived":                      "Revived %s",
}

// ChangeTypes returns the Unleash event types that become ChangeEvents,
// sorted.
func ChangeTypes() []string {
	out := make([]string, 0, len(changeTypes))
	for t := range changeTypes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// change maps an event to a ChangeEvent; ok is false for events that are
// not flag changes. uiBase roots the link to the flag, when known.
func (e *event) change(uiBase string) (incident.ChangeEvent, bool) {
	format, ok := changeTypes[e.Type]
	if !ok || e.FeatureName == "" || e.ID == 0 || e.CreatedAt.IsZero() {
		return incident.ChangeEvent{}, false
	}
	project := projectOf(e.Project)
	summary := fmt.Sprintf(format, e.FeatureName)
	if e.Environment != "" {
		summary += " in " + e.Environment
	}
	data := map[string]string{"project": project, "flag": e.FeatureName, "type": e.Type}
	switch e.Type {
	case "feature-environment-enabled":
		data["on"] = "true"
	case "feature-environment-disabled":
		data["on"] = "false"
	}
	var link string
	if uiBase != "" {
		link = fmt.Sprintf("%s/projects/%s/features/%s", strings.TrimRight(uiBase, "/"), url.PathEscape(project), url.PathEscape(e.FeatureName))
	}
	return incident.ChangeEvent{
		Source:      Source,
		ExternalID:  strconv.FormatInt(e.ID, 10),
		Kind:        incident.ChangeFlag,
		Summary:     summary,
		Actor:       e.CreatedBy,
		URL:         link,
		Environment: e.Environment,
		Ref:         e.FeatureName,
		OccurredAt:  e.CreatedAt.UTC(),
		Data:        data,
	}, true
}

// missing names the fields every Unleash event carries that e, a flag
// change, lacks.
func (e *event) missing() []string {
	var out []string
	if e.ID == 0 {
		out = append(out, "id")
	}
	if e.FeatureName == "" {
		out = append(out, "featureName")
	}
	if e.CreatedAt.IsZero() {
		out = append(out, "createdAt")
	}
	return out
}

// scrubNUL drops NUL characters, which PostgreSQL cannot store, from who
// made the change, and refuses one in the names the change is matched to
// a service by (EINVALID, a 400): Unleash allows none in them, so such an
// event is not one to record under a name it does not have.
func (e *event) scrubNUL() error {
	e.CreatedBy = strings.ReplaceAll(e.CreatedBy, "\x00", "")
	for _, f := range []struct{ name, value string }{{"featureName", e.FeatureName}, {"project", e.Project}, {"environment", e.Environment}} {
		if strings.ContainsRune(f.value, 0) {
			return webhook.Errorf(http.StatusBadRequest, "%s holds a NUL character", f.name)
		}
	}
	return nil
}

func sortNewestFirst(cs []incident.ChangeEvent) {
	slices.SortStableFunc(cs, func(a, b incident.ChangeEvent) int {
		return b.OccurredAt.Compare(a.OccurredAt)
	})
}
