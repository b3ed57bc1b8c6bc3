package bot

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestDeclareCommandRefusesAnOverlongTitle: "/incident declare" with a
// title longer than an incident's 150 characters is answered with the
// sentence the declare gives with a severity, whether or not one was typed,
// instead of opening a form whose title box holds more than it lets the
// person submit. A title within the limit still opens the form, filled in.
func TestDeclareCommandRefusesAnOverlongTitle(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("checkout is down in eu-west ", 8))[:200]
	for _, text := range []string{"declare " + long, "declare P2 " + long, "declare --private " + long} {
		tr := newTransport(t)
		r := tr.command(t, tr.other.ID, "C0GENERAL", text)
		require.Contains(t, string(r.Body), "The title is 200 characters long; keep it within 150.", text)
		require.Empty(t, tr.srv.CallsTo("views.open"), "%s: no form opened", text)
	}

	tr := newTransport(t)
	fits := long[:incident.MaxTitleLength]
	tr.command(t, tr.other.ID, "C0GENERAL", "declare "+fits)
	v := tr.openedView(t, ViewDeclare)
	var view struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				InitialValue string `json:"initial_value"`
				MaxLength    int    `json:"max_length"`
			} `json:"element"`
		} `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(v.JSON, &view))
	require.Equal(t, blockTitle, view.Blocks[0].BlockID)
	require.Equal(t, strings.TrimSpace(fits), view.Blocks[0].Element.InitialValue)
	require.Equal(t, incident.MaxTitleLength, view.Blocks[0].Element.MaxLength)
}

// TestDeclareModalKeepsTheTitleWithinItsBox: whatever title it is given,
// the declare form's title box starts with no more than it takes.
func TestDeclareModalKeepsTheTitleWithinItsBox(t *testing.T) {
	t.Parallel()
	m := DeclareModal(incident.DefaultPolicy(), "U1", "C1", declareArgs{title: strings.Repeat("checkout down ", 20)})
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	var view struct {
		Blocks []struct {
			Element struct {
				InitialValue string `json:"initial_value"`
				MaxLength    int    `json:"max_length"`
			} `json:"element"`
		} `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(raw, &view))
	el := view.Blocks[0].Element
	require.Equal(t, incident.MaxTitleLength, el.MaxLength)
	require.LessOrEqual(t, len([]rune(el.InitialValue)), el.MaxLength)
	require.True(t, strings.HasPrefix(el.InitialValue, "checkout down"), el.InitialValue)
}
