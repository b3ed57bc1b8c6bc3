package bot

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/templates"
)

// countingExporter is Confluence as far as the export job can tell: it
// counts the exports that reached it.
type countingExporter struct {
	mu sync.Mutex
	n  int
}

func (e *countingExporter) Name() string { return "Confluence" }

func (e *countingExporter) Export(context.Context, incident.PostmortemDoc, *incident.ExportRef) (incident.ExportRef, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	return incident.ExportRef{Target: "confluence", ID: "98765", URL: "https://acme.atlassian.net/wiki/spaces/OPS/pages/98765", Version: e.n}, nil
}

func (e *countingExporter) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

// The export command over the real postmortem service: asked twice at
// once, it exports once and the second reply says an export is already
// under way, instead of "Exporting ..." for an export that never comes;
// the button clicked meanwhile says the same. Asked again once that export
// is done, in the same minute, it exports again.
func TestExportCommandAgainSaysWhatHappens(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, true)
	ctx := context.Background()
	renderer, err := templates.Load("")
	require.NoError(t, err)
	conf := &countingExporter{}
	pm := postmortem.New(postmortem.Config{Store: f.store, Chat: f.chat, Scheduler: f.queue, Exporters: []incident.Exporter{conf},
		Renderer: renderer, Clock: f.clock})
	pm.RegisterJobs(f.queue)
	f.postmortem.postmortems = pm

	reply, err := f.postmortem.postmortemCommand(ctx, invocation(captureChannel, "export confluence"))
	require.NoError(t, err)
	require.Equal(t, "Exporting the INC-1 postmortem to confluence; the link will be posted in this channel.", reply.Text)

	reply, err = f.postmortem.postmortemCommand(ctx, invocation(captureChannel, "export confluence"))
	require.NoError(t, err, "a double click is not a failure")
	require.Equal(t, slack.ResponseTypeEphemeral, reply.ResponseType)
	require.Equal(t, "An export of INC-1's postmortem to confluence is already under way; its link will be posted here. If no link comes within a minute, ask again.", reply.Text)

	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U0ALICE"}}
	cb.Channel.ID = captureChannel
	err = f.postmortem.actionExport(ctx, cb, &slack.BlockAction{ActionID: incident.ActionExport, Value: fmt.Sprintf("%d:confluence", f.inc.ID)})
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Equal(t, "An export of INC-1's postmortem to confluence is already under way; its link will be posted here. If no link comes within a minute, ask again.", incident.ErrorMessage(err))

	require.Empty(t, f.queue.RunAll(t))
	require.Equal(t, 1, conf.count(), "one export")

	reply, err = f.postmortem.postmortemCommand(ctx, invocation(captureChannel, "export confluence"))
	require.NoError(t, err)
	require.Equal(t, "Exporting the INC-1 postmortem to confluence; the link will be posted in this channel.", reply.Text)
	require.Empty(t, f.queue.RunAll(t))
	require.Equal(t, 2, conf.count(), "asked again once the first was done, it exports again")
}
