package changes_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// Providers are configured, but the policy links the incident's service
// to none of them: an empty list must not read as "nothing changed".
func TestWhatChangedSaysWhenNoProviderWatchesTheService(t *testing.T) {
	t.Parallel()
	b := setupChanges(t, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.GitHub, svc.Flags = incident.GitHubService{}, nil
		p.Services["checkout"] = svc
	})
	b.declare(t, "checkout is down", incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, b.chat.ChangeLists, 1, "the list at declare says so")
	list := b.chat.ChangeLists[0]
	require.Empty(t, list.Items)
	require.Equal(t, []incident.SourceFailure{{Source: "Checkout's deploys and flag changes",
		Message: "The policy file names no GitHub repository or feature flag for Checkout, so no provider was asked."}}, list.Failures)
}

// No provider is configured at all: the list at declare stays quiet, but
// someone who asks is told why the list is empty.
func TestWhatChangedWithoutProvidersSaysSoWhenAsked(t *testing.T) {
	t.Parallel()
	b := newChangeBundle(t, false)
	inc := b.declare(t, "checkout is down", incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	require.Empty(t, b.chat.ChangeLists, "nothing is tracked, so nothing is said at declare")
	inc, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)

	list := b.lastList(t, inc, 0)
	require.Equal(t, []incident.SourceFailure{{Source: "Deploys and flag changes",
		Message: "No change provider (GitHub, LaunchDarkly or Unleash) is configured, so only changes sent to the change webhook are listed."}}, list.Failures)
}
