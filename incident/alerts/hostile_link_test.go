package alerts_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/storetest"
)

// TestAlertLinkCannotMentionTheChannel: an alert's generatorURL (or, for
// Grafana, its dashboardURL) is posted as the proposal's link. One that is
// no web address, or that carries Slack markup (a <!channel> mention, a
// <url|label> link in disguise), is left out: the proposal still goes out,
// with nobody mentioned and no disguised link.
func TestAlertLinkCannotMentionTheChannel(t *testing.T) {
	t.Parallel()
	const genuine = "http://prometheus.example.com:9090/graph?g0.expr=job%3Acheckout_5xx%3Aratio5m+%3E+0.05&g0.tab=1"
	for _, hostile := range []string{
		"<!channel>",
		"https://prometheus.example.com/graph <!channel>",
		"https://evil.example.com/login|Prometheus graph",
		"javascript:alert(1)",
	} {
		b := setupOn(t, storetest.Memory, options{})
		body := fixture(t, "high_error_rate_firing.json")
		quoted, err := jsonString(hostile)
		require.NoError(t, err)
		out := bytes.Replace(body, []byte(`"`+genuine+`"`), quoted, 1)
		require.NotEqual(t, body, out, "the fixture's generatorURL")
		require.Equal(t, http.StatusOK, deliver(t, alertmanager(b), out))
		require.Empty(t, b.queue.RunAll(t))
		proposals := postsContaining(b.chat, "#checkout", "Declare P1 from this alert?")
		require.Len(t, proposals, 1, hostile)
		require.NotContains(t, proposals[0], "<!channel>", hostile)
		require.NotContains(t, proposals[0], "evil.example.com", hostile)
		require.NotContains(t, proposals[0], "javascript:", hostile)
		require.True(t, strings.Contains(proposals[0], "HighErrorRate"), proposals[0])
	}
}

func jsonString(s string) ([]byte, error) { return json.Marshal(s) }
