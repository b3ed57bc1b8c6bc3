package httpjson_test

import (
	"testing"

	"github.com/firebreakhq/firebreak/httpjson"
)

func TestDuplicateKey(t *testing.T) {
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
		key, ok := httpjson.DuplicateKey([]byte(tc.body))
		if key != tc.key || ok != tc.ok {
			t.Errorf("DuplicateKey(%s) = %q, %v; want %q, %v", tc.body, key, ok, tc.key, tc.ok)
		}
	}
}
