package slackfake

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A slash command's immediate answer is held to a message's rules.
func TestMessageProblem(t *testing.T) {
	t.Parallel()
	require.Empty(t, messageProblem(nil), "an empty answer is a plain acknowledgement")
	require.Empty(t, messageProblem([]byte("null")), "as is a Socket Mode ack without a payload")
	require.Empty(t, messageProblem([]byte(`{"response_type":"ephemeral","text":"ok"}`)))
	require.Equal(t, "invalid_payload", messageProblem([]byte(`not json`)))
	require.Equal(t, "msg_too_long", messageProblem([]byte(`{"text":"`+strings.Repeat("x", MaxMessageText+1)+`"}`)))
	long := `{"text":"t","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("x", MaxSectionText+1) + `"}}]}`
	require.Contains(t, messageProblem([]byte(long)), "invalid_blocks")
}
