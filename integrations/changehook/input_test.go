package changehook_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/changehook"
)

// refusal is the 400 body of a delivery.
type refusal struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func refused(t *testing.T, code int, body []byte) refusal {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, code, string(body))
	var r refusal
	require.NoError(t, json.Unmarshal(body, &r), string(body))
	return r
}

// TestServiceMustBeAPolicyKey: the service field is the policy's service
// key; a change sent under a key no service has (a typo, another case)
// would be stored where no incident shows it, so it is refused with the
// keys there are, and nothing is recorded.
func TestServiceMustBeAPolicyKey(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	h := newHandler(&rec, changehook.WithServices([]string{"payments", "checkout"}))
	for _, svc := range []string{"no-such-service", "Checkout", "check-out"} {
		w := deliver(t, h, `{"id":"a6","summary":"ok","service":"`+svc+`"}`, now, secret)
		r := refused(t, w.Code, w.Body.Bytes())
		require.Equal(t, "service", r.Field, svc)
		require.Contains(t, r.Error, "checkout, payments", "the known keys, sorted")
	}
	require.Empty(t, rec.events())

	w := deliver(t, h, `{"id":"a7","summary":"ok","service":"checkout"}`, now, secret)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = deliver(t, h, `{"id":"a8","summary":"ok"}`, now, secret)
	require.Equal(t, http.StatusOK, w.Code, "no service is still a change of no service: %s", w.Body.String())
	require.Len(t, rec.events(), 2)
	require.Equal(t, "checkout", rec.events()[0].Service)
}

// TestBodyIsOneJSONObjectAndNothingAfter: text after the object, even a
// stray closing bracket, is a malformed body; a field named twice is too,
// in the same case or not.
func TestBodyIsOneJSONObjectAndNothingAfter(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	h := newHandler(&rec)
	for _, body := range []string{
		`{"id":"a1","summary":"ok"}}`,
		`{"id":"a2","summary":"ok"}]`,
		`{"id":"a3","summary":"ok"} {"id":"x"}`,
		`{"id":"a4","summary":"ok"} garbage`,
		`{"id":"a5","summary":"ok","id":"a9"}`,
		// encoding/json fills the same field from both spellings.
		`{"id":"a10","summary":"ok","service":"checkout","Service":"payments"}`,
	} {
		w := deliver(t, h, body, now, secret)
		refused(t, w.Code, w.Body.Bytes())
	}
	require.Empty(t, rec.events())
	w := deliver(t, h, "{\"id\":\"a6\",\"summary\":\"ok\"}\n  ", now, secret)
	require.Equal(t, http.StatusOK, w.Code, "white space after the object is fine: %s", w.Body.String())
}

// TestSummaryIsOneLineAsDocumented: the summary is one line; a line
// break, a terminal escape or a character that reverses the text after it
// is refused, naming summary.
func TestSummaryIsOneLineAsDocumented(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	h := newHandler(&rec)
	for _, summary := range []string{`line1\nline2`, `red \u001b[31m`, `tab\there`, `abc\u202eevil`, `isolate \u2067x\u2069`} {
		w := deliver(t, h, `{"id":"a5","summary":"`+summary+`"}`, now, secret)
		r := refused(t, w.Code, w.Body.Bytes())
		require.Equal(t, "summary", r.Field, summary)
	}
	for _, field := range []string{"actor", "environment", "ref", "service"} {
		w := deliver(t, h, `{"id":"a5","summary":"ok","`+field+`":"a\u202eb"}`, now, secret)
		r := refused(t, w.Code, w.Body.Bytes())
		require.Equal(t, field, r.Field)
	}
	require.Empty(t, rec.events())
	w := deliver(t, h, `{"id":"a5","summary":"Réglé le cache : עברית ok"}`, now, secret)
	require.Equal(t, http.StatusOK, w.Code, "right-to-left text needs no override: %s", w.Body.String())
}
