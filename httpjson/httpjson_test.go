package httpjson_test

import (
	"encoding/json"
	"testing"

	"github.com/firebreakhq/firebreak/httpjson"
)

func TestDuplicateKeyCompareExactly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body, key string
		ok        bool
	}{
		{`{"severity":"P1","severity":"P4"}`, "severity", true},
		{`{"a":{"b":1,"b":2}}`, "b", true},
		{`[{"x":1},{"x":2,"x":3}]`, "x", true},
		{`{"a":1,"b":{"a":2}}`, "", false}, // the same name at two depths is two keys
		{`{"a":[1,2,{"c":true}],"d":null}`, "", false},
		{`{"a":1`, "", false}, // not JSON: decoding reports it
		{`"text"`, "", false},
	} {
		key, ok := httpjson.DuplicateField([]byte(tc.body), nil)
		if key != tc.key || ok != tc.ok {
			t.Errorf("DuplicateField(%s, nil) = %q, %v; want %q, %v", tc.body, key, ok, tc.key, tc.ok)
		}
	}
}

// encoding/json fills a struct's field from a key equal to its name under
// case folding: the same field sent in two cases is sent twice. A map keeps
// keys as they are, so there only the same key is.
func TestDuplicateFieldFoldsCaseAsEncodingJSONMatchesFields(t *testing.T) {
	t.Parallel()
	type inner struct {
		Name string `json:"name"`
	}
	type embedded struct {
		Team string `json:"team"`
	}
	type request struct {
		embedded
		Severity string            `json:"severity"`
		Labels   map[string]string `json:"labels"`
		Owner    *inner            `json:"owner"`
		Items    []inner           `json:"items"`
		Raw      json.RawMessage   `json:"raw"`
		Any      any               `json:"any"`
		Exact    string            `json:"id"`
		Upper    string            `json:"ID"`
		Skipped  string            `json:"-"`
		Untagged string
	}
	for _, tc := range []struct {
		body, key string
		ok        bool
	}{
		{`{"severity":"P1","Severity":"P4"}`, "Severity", true},
		{`{"SEVERITY":"P1","severity":"P4"}`, "severity", true},
		{`{"severity":"P1","labels":{"Env":"a","env":"b"}}`, "", false}, // a map keeps both
		{`{"labels":{"env":"a","env":"b"}}`, "env", true},
		{`{"owner":{"name":"a","NAME":"b"}}`, "NAME", true},
		{`{"items":[{"name":"a"},{"Name":"b","name":"c"}]}`, "name", true},
		{`{"team":"a","Team":"b"}`, "Team", true}, // an embedded struct's field
		{`{"untagged":"a","Untagged":"b"}`, "Untagged", true},
		{`{"id":"a","ID":"b"}`, "", false}, // two fields, each matched exactly
		{`{"id":"a","Id":"b"}`, "Id", true},
		{`{"any":{"A":1,"a":2}}`, "", false}, // decoded into a map[string]any
		{`{"raw":{"K":1,"k":2}}`, "", false},
		{"{\"\u212aelvin\":1,\"kelvin\":2}", "kelvin", true},                      // the Kelvin sign folds to k
		{"{\"severity\":\"P1\",\"\u017feverity\":\"P4\"}", "\u017feverity", true}, // ſ folds to s, as encoding/json matches
	} {
		key, ok := httpjson.DuplicateField([]byte(tc.body), &request{})
		if key != tc.key || ok != tc.ok {
			t.Errorf("DuplicateField(%s) = %q, %v; want %q, %v", tc.body, key, ok, tc.key, tc.ok)
		}
	}
	// What encoding/json does with the ſ case: the field is filled from it.
	var r request
	if err := json.Unmarshal([]byte("{\"\u017fEVERITY\":\"P4\"}"), &r); err != nil || r.Severity != "P4" {
		t.Fatalf("encoding/json: %v %q", err, r.Severity)
	}
}
