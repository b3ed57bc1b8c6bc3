package slackfake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

func modal(title, callbackID string, blocks ...slack.Block) slack.ModalViewRequest {
	if len(blocks) == 0 {
		blocks = []slack.Block{section("Declare an incident")}
	}
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      slack.NewTextBlockObject("plain_text", title, false, false),
		Submit:     slack.NewTextBlockObject("plain_text", "Submit", false, false),
		CallbackID: callbackID,
		Blocks:     slack.Blocks{BlockSet: blocks},
	}
}

func TestViewsOpenTriggerRules(t *testing.T) {
	t.Parallel()
	f := setup(t)

	trigger := f.srv.NewTriggerID(0)
	resp, err := f.api.OpenView(trigger, modal("Declare", "declare"))
	require.NoError(t, err)
	require.NotEmpty(t, resp.View.ID)
	require.Equal(t, "declare", resp.View.CallbackID)
	require.NotEmpty(t, resp.View.Hash)

	_, err = f.api.OpenView(trigger, modal("Declare", "declare"))
	require.Equal(t, "exchanged_trigger_id", slackErr(t, err))

	late := f.srv.NewTriggerID(0)
	f.clock.Advance(slackfake.DefaultTriggerTTL + time.Millisecond)
	_, err = f.api.OpenView(late, modal("Declare", "declare"))
	require.Equal(t, "expired_trigger_id", slackErr(t, err))

	long := f.srv.NewTriggerID(time.Minute)
	f.clock.Advance(30 * time.Second)
	_, err = f.api.OpenView(long, modal("Declare", "declare"))
	require.NoError(t, err, "a custom ttl is honoured")

	_, err = f.api.OpenView("12.34.nope", modal("Declare", "declare"))
	require.Equal(t, "invalid_trigger_id", slackErr(t, err))
}

func TestViewValidation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	manyBlocks := make([]slack.Block, 101)
	for i := range manyBlocks {
		manyBlocks[i] = slack.NewDividerBlock()
	}
	input := slack.NewInputBlock("title", slack.NewTextBlockObject("plain_text", "Title", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "title"))
	tests := []struct {
		name   string
		modify func(*slack.ModalViewRequest)
		want   string
	}{
		{"valid", func(*slack.ModalViewRequest) {}, ""},
		{"title 24", func(v *slack.ModalViewRequest) { v.Title.Text = strings.Repeat("t", 24) }, ""},
		{"title 25", func(v *slack.ModalViewRequest) { v.Title.Text = strings.Repeat("t", 25) }, "invalid_arguments"},
		{"private_metadata 3001", func(v *slack.ModalViewRequest) { v.PrivateMetadata = strings.Repeat("m", 3001) }, "invalid_arguments"},
		{"101 blocks", func(v *slack.ModalViewRequest) { v.Blocks.BlockSet = manyBlocks }, "invalid_arguments"},
		{"100 blocks", func(v *slack.ModalViewRequest) { v.Blocks.BlockSet = manyBlocks[:100] }, ""},
		{"input without submit", func(v *slack.ModalViewRequest) { v.Submit = nil; v.Blocks.BlockSet = []slack.Block{input} }, "invalid_arguments"},
		{"section text 3001", func(v *slack.ModalViewRequest) { v.Blocks.BlockSet = []slack.Block{section(strings.Repeat("s", 3001))} }, "invalid_arguments"},
		{"over 250 kB", func(v *slack.ModalViewRequest) {
			big := make([]slack.Block, 90)
			for i := range big {
				big[i] = section(strings.Repeat("s", 2900))
			}
			v.Blocks.BlockSet = big
		}, "view_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := modal("Declare", "declare")
			tt.modify(&v)
			_, err := f.api.OpenView(f.srv.NewTriggerID(0), v)
			require.Equal(t, tt.want, slackErr(t, err))
		})
	}
}

func TestViewsPushLimitAndUpdate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	root, err := f.api.OpenView(f.srv.NewTriggerID(0), modal("Root", "root"))
	require.NoError(t, err)

	for i := range 2 {
		_, err := f.api.PushView(f.srv.NewTriggerIDFor(f.alice.ID, root.View.ID, 0), modal("Pushed", "push"))
		require.NoError(t, err, "push %d", i)
	}
	_, err = f.api.PushView(f.srv.NewTriggerIDFor(f.alice.ID, root.View.ID, 0), modal("Pushed", "push"))
	require.Equal(t, "push_limit_reached", slackErr(t, err))
	require.Len(t, f.srv.OpenViews(), slackfake.MaxViewStack)

	updated, err := f.api.UpdateView(modal("Updated", "root"), "", root.View.Hash, root.View.ID)
	require.NoError(t, err)
	require.NotEqual(t, root.View.Hash, updated.View.Hash)
	v, found := f.srv.View(root.View.ID)
	require.True(t, found)
	require.Equal(t, "Updated", v.Title)

	_, err = f.api.UpdateView(modal("Again", "root"), "", root.View.Hash, root.View.ID)
	require.Equal(t, "hash_conflict", slackErr(t, err), "the old hash is stale")
	_, err = f.api.UpdateView(modal("Again", "root"), "", "", "VNOPE")
	require.Equal(t, "not_found", slackErr(t, err))

	require.True(t, f.srv.CloseView(root.View.ID))
	require.Empty(t, f.srv.OpenViews(), "closing the root closes the stack")
	_, err = f.api.PushView(f.srv.NewTriggerIDFor(f.alice.ID, root.View.ID, 0), modal("Pushed", "push"))
	require.Equal(t, "not_found", slackErr(t, err))
}
