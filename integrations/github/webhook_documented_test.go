package github_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// TestWebhookSignatureTestVector: GitHub's documented test values for
// X-Hub-Signature-256 (secret "It's a Secret to Everybody", payload
// "Hello, World!"; docs.github.com, "Validating webhook deliveries") verify
// exactly: the lowercase hex with its "sha256=" prefix passes, and the same
// digest without the prefix, or under another secret, does not.
func TestWebhookSignatureTestVector(t *testing.T) {
	t.Parallel()
	const (
		secret = "It's a Secret to Everybody"
		digest = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	)
	body := []byte("Hello, World!")
	rec := &sinkRecorder{}
	hook := webhookServer(t, secret, rec)

	status, err := ghfake.SendWebhook(t.Context(), hook, secret, "ping", body, ghfake.WithSignature("sha256="+digest))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "sha256="+digest, ghfake.Sign(secret, body), "the fake signs as GitHub documents")

	for _, sig := range []string{digest, "sha1=" + digest, ghfake.Sign("another secret", body)} {
		status, err := ghfake.SendWebhook(t.Context(), hook, secret, "ping", body, ghfake.WithSignature(sig))
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, status, sig)
	}
	require.Empty(t, rec.got())
}

// TestWebhookPingAndUnknownEventsAsForms: a hook set to deliver
// application/x-www-form-urlencoded sends its ping, and events the bot does
// not act on, as a payload field; each is answered 200 and changes nothing.
func TestWebhookPingAndUnknownEventsAsForms(t *testing.T) {
	t.Parallel()
	rec := &sinkRecorder{}
	hook := webhookServer(t, hookSecret, rec)
	for event, payload := range map[string]string{
		"ping": `{"zen":"Design for failure.","hook_id":1,"hook":{"type":"Repository","id":1,"name":"web","active":true,"events":["deployment_status"],"config":{"content_type":"form","insecure_ssl":"0","url":"https://firebreak.example.com/webhooks/github"}}}`,
		"push": `{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"3333333333333333333333333333333333333333"}`,
	} {
		body := []byte("payload=" + url.QueryEscape(payload))
		status, err := ghfake.SendWebhook(t.Context(), hook, hookSecret, event, body,
			ghfake.WithContentType("application/x-www-form-urlencoded"))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, event)
	}
	require.Empty(t, rec.got())
}
