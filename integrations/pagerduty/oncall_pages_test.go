package pagerduty_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// GET /oncalls answers at most 100 entries a page and says "more" when
// there are others (developer-docs REST-API/09-Pagination.md): an
// escalation policy with more people on call than that is read to the end.
func TestOnCallReadsEveryPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 130 {
		u := b.fake.AddUser(pdfake.User{Name: fmt.Sprintf("Level3 %03d", i), Email: fmt.Sprintf("l3-%03d@example.com", i)})
		b.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: b.policyID, Level: 3, UserID: u.ID, End: t0.Add(time.Hour)})
	}
	b.rest.PagerDuty.EscalationPolicy = b.policyID
	oncalls, err := b.client.OnCall(t.Context(), b.rest)
	require.NoError(t, err)
	require.Len(t, oncalls, 132)
	require.Equal(t, "Bob Primary", oncalls[0].Name)
	require.Equal(t, "Carol Backup", oncalls[1].Name)
	require.Len(t, callsTo(b.fake, http.MethodGet, "/oncalls"), 2)
}
