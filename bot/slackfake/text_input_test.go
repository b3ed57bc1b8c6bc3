package slackfake_test

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

// TestTextInputLengths: views.open takes a plain_text_input's max_length
// from 1 to 3,000 and refuses others (invalid_arguments, naming the field);
// it puts no limit on initial_value, even past max_length.
func TestTextInputLengths(t *testing.T) {
	t.Parallel()
	f := setup(t)
	withInput := func(maxLength int, initial string) slack.ModalViewRequest {
		el := slack.NewPlainTextInputBlockElement(nil, "title")
		el.MaxLength, el.InitialValue = maxLength, initial
		return modal("Declare", "declare", slack.NewInputBlock("title", slack.NewTextBlockObject("plain_text", "Title", false, false), nil, el))
	}
	tests := []struct {
		name      string
		view      slack.ModalViewRequest
		want, ptr string
	}{
		{"max_length 3000", withInput(3000, ""), "", ""},
		{"max_length 3001", withInput(3001, ""), "invalid_arguments", "/view/blocks/0/element/max_length"},
		{"max_length 16000", withInput(16000, ""), "invalid_arguments", "/view/blocks/0/element/max_length"},
		{"initial_value within max_length", withInput(150, strings.Repeat("t", 150)), "", ""},
		{"initial_value past max_length", withInput(150, strings.Repeat("t", 200)), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.api.OpenView(f.srv.NewTriggerID(0), tt.view)
			require.Equal(t, tt.want, slackErr(t, err))
			if tt.ptr != "" {
				var se slack.SlackErrorResponse
				require.ErrorAs(t, err, &se)
				require.Contains(t, strings.Join(se.ResponseMetadata.Messages, "\n"), "[json-pointer:"+tt.ptr+"]")
			}
		})
	}
}
