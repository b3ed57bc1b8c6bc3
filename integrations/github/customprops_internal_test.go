package github

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWithoutCustomProperties(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"none", `{"id":1}`, `{"id":1}`},
		{"the repository's", `{"repository":{"id":7,"custom_properties":{"owners":["a","b"],"tier":null}},"action":"completed"}`,
			`{"action":"completed","repository":{"id":7}}`},
		{"a workflow run's two repositories", `{"workflow_run":{"repository":{"custom_properties":{"x":["y"]}},"head_repository":{"name":"r","custom_properties":{}}}}`,
			`{"workflow_run":{"head_repository":{"name":"r"},"repository":{}}}`},
		{"in a list", `[{"custom_properties":{"x":["y"]},"id":2},{"id":3}]`, `[{"id":2},{"id":3}]`},
		{"numbers kept as written", `{"id":145988746123456789012,"custom_properties":{}}`, `{"id":145988746123456789012}`},
		{"named in a string only", `{"body":"see \"custom_properties\""}`, `{"body":"see \"custom_properties\""}`},
		{"not JSON", `{"custom_properties": [`, `{"custom_properties": [`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := withoutCustomProperties([]byte(tt.in))
			require.Equal(t, tt.want, string(got))
			if json.Valid([]byte(tt.in)) {
				require.True(t, json.Valid(got))
			}
		})
	}
}
