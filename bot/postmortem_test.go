package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestPostmortemCommand(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, true)
	ctx := context.Background()

	reply, err := f.postmortem.postmortemCommand(ctx, invocation(captureChannel, ""))
	require.NoError(t, err)
	require.Equal(t, "Drafting the INC-1 postmortem; it will appear in this channel shortly.", reply.Text)
	require.Equal(t, []int64{f.inc.ID}, f.pm.drafts)

	reply, err = f.postmortem.postmortemCommand(ctx, invocation(captureChannel, "export Confluence"))
	require.NoError(t, err)
	require.Equal(t, "Exporting the INC-1 postmortem to confluence; the link will be posted in this channel.", reply.Text)
	require.Equal(t, []string{fmt.Sprintf("%d confluence by U0ALICE reply %s/U0ALICE", f.inc.ID, captureChannel)}, f.pm.exports)

	tests := []struct {
		name, channel, args, code, message string
	}{
		{"unknown target", captureChannel, "export notion", incident.EINVALID, "Say where to export: confluence or github."},
		{"no target", captureChannel, "export", incident.EINVALID, "Say where to export: confluence or github."},
		{"unknown subcommand", captureChannel, "publish", incident.EINVALID, "postmortem export <target>"},
		{"not an incident channel", "CGENERAL", "", incident.ENOTFOUND, "not an incident channel"},
	}
	for _, tt := range tests {
		_, err := f.postmortem.postmortemCommand(ctx, invocation(tt.channel, tt.args))
		require.Equal(t, tt.code, incident.ErrorCode(err), tt.name)
		require.Contains(t, incident.ErrorMessage(err), tt.message, tt.name)
	}
	require.Len(t, f.pm.exports, 1)

	f.pm.targets = nil
	_, err = f.postmortem.postmortemCommand(ctx, invocation(captureChannel, "export github"))
	require.Contains(t, incident.ErrorMessage(err), "No postmortem export is configured")

	off := newCaptureFixture(t, false)
	_, err = off.postmortem.postmortemCommand(ctx, invocation(captureChannel, ""))
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
}

func TestExportButton(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, true)
	ctx := context.Background()
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U0BOB"}, Channel: slack.Channel{}}
	cb.Channel.ID = captureChannel
	cb.ActionCallback.BlockActions = []*slack.BlockAction{{ActionID: incident.ActionExport, Value: fmt.Sprintf("%d:github", f.inc.ID)}}
	require.Nil(t, f.h.Interaction(ctx, cb))
	require.Equal(t, []string{fmt.Sprintf("%d github by U0BOB reply %s/U0BOB", f.inc.ID, captureChannel)}, f.pm.exports)

	err := f.postmortem.actionExport(ctx, cb, &slack.BlockAction{ActionID: incident.ActionExport, Value: "github"})
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	off := newCaptureFixture(t, false)
	err = off.postmortem.actionExport(ctx, cb, cb.ActionCallback.BlockActions[0])
	require.True(t, strings.Contains(incident.ErrorMessage(err), "not configured"))
}
