package launchdarkly_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly/ldfake"
)

// describedOnly are audit entries of the flag new-cart in production whose
// actions change how the flag is described, or what is asked or planned
// for it, and not what it serves; and entries that change what it serves,
// alone or with such an action, or through an action not known here.
func describedOnly(at time.Time) (quiet, changes []ldfake.AuditEntry) {
	entry := func(id, verb string, actions ...string) ldfake.AuditEntry {
		return ldfake.AuditEntry{ID: id, Date: at, Name: "New cart", TitleVerb: verb,
			MemberEmail: "ann@example.com", MemberName: "Ann Lee",
			Project: "shop", Environment: "production", FlagKey: "new-cart", Actions: actions}
	}
	quiet = []ldfake.AuditEntry{
		entry("renamed", "updated the name of the flag", "updateName"),
		entry("tagged", "updated the tags of the flag", "updateTags", "updateDescription"),
		entry("maintainer", "updated the maintainer of the flag", "updateMaintainer"),
		entry("approval-asked", "requested approval for changes to the flag", "createApprovalRequest"),
		entry("scheduled", "scheduled changes to the flag", "updateScheduledChanges"),
	}
	changes = []ldfake.AuditEntry{
		entry("turned-off", "turned off the flag", "updateOn"),
		entry("rules", "changed the targeting rules of the flag", "updateRules", "updateFlagRuleDescription"),
		entry("approval-applied", "applied the approved changes to the flag", "applyApprovalRequest"),
		entry("unknown-action", "changed the flag", "updateSomethingNew"),
	}
	return quiet, changes
}

// TestChangesLeaveOutEntriesThatOnlyDescribeTheFlag: "what changed?" lists
// what could have changed the service's behaviour. A flag renamed, tagged
// or given a new maintainer, or an approval asked for but not applied, is
// not listed; a change to what the flag serves is, with or without such an
// action beside it, and so is an action LaunchDarkly added after this list
// was written.
func TestChangesLeaveOutEntriesThatOnlyDescribeTheFlag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	quiet, changes := describedOnly(t0.Add(-10 * time.Minute))
	for _, e := range append(append([]ldfake.AuditEntry{}, quiet...), changes...) {
		b.fake.AddAuditEntry(e)
	}
	got, err := b.client.Changes(context.Background(), checkout(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ExternalID)
	}
	require.ElementsMatch(t, []string{"turned-off", "rules", "approval-applied", "unknown-action"}, ids)
}

// TestWebhookIgnoresEntriesThatOnlyDescribeTheFlag: the same through the
// webhook, which LaunchDarkly sends for every audit entry: each is answered
// 200, and only the changes reach the domain.
func TestWebhookIgnoresEntriesThatOnlyDescribeTheFlag(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	srv := httptest.NewServer(launchdarkly.NewWebhookHandler(secret, rec.sink, nil))
	t.Cleanup(srv.Close)
	quiet, changes := describedOnly(t0)
	for _, e := range append(append([]ldfake.AuditEntry{}, quiet...), changes...) {
		status, err := ldfake.SendWebhook(context.Background(), srv.Client(), srv.URL, secret, e)
		require.NoError(t, err)
		require.Equal(t, 200, status, e.ID)
	}
	var ids []string
	for _, c := range rec.events() {
		ids = append(ids, c.ExternalID)
	}
	require.Equal(t, []string{"turned-off", "rules", "approval-applied", "unknown-action"}, ids)
}
