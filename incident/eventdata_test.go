package incident_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// withoutEmpty is m less its empty values, which a payload leaves out.
func withoutEmpty(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// TestEventDataReadsTheStoredMaps: details stored as a flat map of strings
// read into their kind's payload, and a payload is stored as that same map.
func TestEventDataReadsTheStoredMaps(t *testing.T) {
	covered := map[incident.EventKind]bool{}
	for _, c := range incidenttest.LegacyEventData() {
		covered[c.Kind] = true
		raw, err := json.Marshal(c.Stored)
		require.NoError(t, err)
		ev := incident.TimelineEvent{Kind: c.Kind}
		require.NoError(t, incident.DecodeEventData(&ev, string(raw)))
		require.Equal(t, c.Payload, ev.Payload, "%s reads %s", c.Kind, raw)

		ev = incident.TimelineEvent{Kind: c.Kind, Payload: c.Payload}
		data, err := incident.EncodeEventData(&ev)
		require.NoError(t, err)
		var got map[string]string
		require.NoError(t, json.Unmarshal([]byte(data), &got), "%s is stored as a flat object of strings: %s", c.Kind, data)
		require.Equal(t, withoutEmpty(c.Stored), got, "%T is stored as before", c.Payload)
	}
	for _, k := range incident.PayloadKinds() {
		require.True(t, covered[k], "LegacyEventData has no %s event", k)
	}
}

func TestEventDataEdges(t *testing.T) {
	ev := incident.TimelineEvent{Kind: incident.EventDeclared}
	data, err := incident.EncodeEventData(&ev)
	require.NoError(t, err)
	require.Equal(t, "{}", data, "no payload is an empty object")

	for _, stored := range []string{"", "{}"} {
		ev := incident.TimelineEvent{Kind: incident.EventMessage}
		require.NoError(t, incident.DecodeEventData(&ev, stored))
		require.Nil(t, ev.Payload, "%q reads as no payload", stored)
	}

	ev = incident.TimelineEvent{Kind: incident.EventSetup}
	require.NoError(t, incident.DecodeEventData(&ev, `{"step":"channel"}`))
	require.Nil(t, ev.Payload, "a kind without a payload ignores stray details")

	ev = incident.TimelineEvent{Kind: incident.EventNote, Payload: incident.MessageData{User: "U1"}}
	_, err = incident.EncodeEventData(&ev)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err), "a payload of another kind is refused")

	ev = incident.TimelineEvent{Kind: incident.EventRollback}
	require.Error(t, incident.DecodeEventData(&ev, `{"round":"two"}`), "a malformed row is an error, not a zero")
}
