package slackfake_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// A response_url post takes the faults queued under ResponseURLMethod: a
// 5xx that did nothing, a 5xx after the post took effect, a 429 and a
// refusal; faults for every method leave it alone.
func TestResponseURLFaults(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reply := func(url, text string) error {
		_, _, err := f.api.PostMessage("", slack.MsgOptionText(text, false), slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral))
		return err
	}
	seen := func() int { return len(f.srv.Ephemerals(f.incident.ID)) }

	url := f.srv.NewResponseURL(f.incident.ID, f.alice.ID)
	f.srv.FailNext(slackfake.ResponseURLMethod, 1, http.StatusServiceUnavailable)
	var sc slack.StatusCodeError
	require.ErrorAs(t, reply(url, "one"), &sc)
	require.Equal(t, http.StatusServiceUnavailable, sc.Code)
	require.Zero(t, seen(), "a plain 5xx posts nothing")

	f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == slackfake.ResponseURLMethod {
			return slackfake.TookEffectThen(http.StatusInternalServerError)
		}
		return nil
	})
	require.ErrorAs(t, reply(url, "two"), &sc)
	require.Equal(t, http.StatusInternalServerError, sc.Code)
	require.Equal(t, 1, seen(), "took effect, then failed")
	f.srv.ClearFaults()

	f.srv.RateLimitNext(slackfake.ResponseURLMethod, 1, 3*time.Second)
	var rl *slack.RateLimitedError
	require.ErrorAs(t, reply(url, "three"), &rl)
	require.Equal(t, 3*time.Second, rl.RetryAfter)
	require.Equal(t, 1, seen())

	f.srv.ErrorNext(slackfake.ResponseURLMethod, 1, "expired_url")
	require.ErrorAs(t, reply(url, "four"), &sc)
	require.Equal(t, http.StatusNotFound, sc.Code)

	f.srv.FailNext("", 1, http.StatusInternalServerError)
	require.NoError(t, reply(url, "five"), "a fault for every Web API method is not one for response_url posts")
	require.Equal(t, 2, seen())

	posts := f.srv.ResponsePosts(url)
	require.Len(t, posts, 5)
	statuses := []int{}
	for _, p := range posts {
		statuses = append(statuses, p.Status)
	}
	require.Equal(t, []int{503, 500, 429, 404, 200}, statuses)
	require.Equal(t, "expired_url", posts[3].Error)
}
