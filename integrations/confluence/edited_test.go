package confluence_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/confluence"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// jane edits the postmortem page in Confluence's editor.
var jane = confluencefake.User{AccountID: "5d2f0a1b9c8e7d0012345678", Username: "jdoe", UserKey: "8a7f808a1", DisplayName: "Jane Doe"}

// teamPage is the page after the team wrote the root cause in the browser:
// the editor keeps the bot's anchor.
const teamPage = anchor + "<h2>Root cause</h2><p>The order-history query had no index.</p>"

// edited is what the channel is told when the page was edited in
// Confluence since the last export.
func edited(by string, version, link string) string {
	if by != "" {
		by = " by " + by
	}
	return "The Confluence page was edited in Confluence" + by + " since the last export (version " + version +
		"); firebreak did not overwrite it. Copy what the new draft adds into the page by hand, or delete the page in Confluence " +
		"and export again to publish the draft as a new page: " + link
}

// requireLeftAlone checks that err says the page was edited and that
// retrying cannot help, without being taken for an outage.
func requireLeftAlone(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), err.Error())
	require.Equal(t, want, incident.ErrorMessage(err))
	require.ErrorIs(t, err, incident.ErrJobCancel, "retrying cannot help: the edits stay until someone acts")
	var unavailable *outbound.UnavailableError
	require.False(t, errors.As(err, &unavailable), "not a provider outage")
}

// puts counts the updates of page id among the calls.
func puts(f flavor, b bundle, id string) int {
	n := 0
	for _, c := range f.calls(b) {
		if strings.HasPrefix(c, "PUT "+f.page+id+" ") {
			n++
		}
	}
	return n
}

// A page the team edited in Confluence after the export is not
// overwritten by the next export, nor by the one after: the export says
// who edited it, its version and its link, and that retrying cannot help.
func TestReExportLeavesAPageEditedInConfluenceAlone(t *testing.T) {
	t.Parallel()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := f.setup(t)
			ctx := context.Background()
			first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
			require.NoError(t, err)
			second, err := b.client.Export(ctx, doc("<p>v2</p>"), &first)
			require.NoError(t, err)
			require.Equal(t, 2, second.Version)
			require.NoError(t, b.fake.Edit(first.ID, teamPage, jane))

			for range 2 {
				ref, err := b.client.Export(ctx, doc("<p>v3</p>"), &second)
				requireLeftAlone(t, err, edited("Jane Doe", "3", first.URL))
				require.Zero(t, ref)
			}
			pages := b.postmortems()
			require.Len(t, pages, 1, "no second page")
			require.Equal(t, teamPage, pages[0].Body, "the team's edit is still the page")
			require.Equal(t, 3, pages[0].Version)
			require.Equal(t, 1, puts(f, b, first.ID), "only the second export wrote")
		})
	}
}

// An export whose update took effect but whose answer was lost left the
// record at the version before: the version it wrote carries the bot's
// message, so the next export takes it for its own and updates the page.
// A browser edit after it is still seen.
func TestOwnLostWriteIsNotTakenForAnEdit(t *testing.T) {
	t.Parallel()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := f.setup(t)
			ctx := context.Background()
			first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
			require.NoError(t, err)

			b.fake.Fail(confluencefake.Fault{Method: http.MethodPut, Status: http.StatusBadGateway, AfterEffect: true})
			_, err = b.client.Export(ctx, doc("<p>v2</p>"), &first)
			require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
			p := b.postmortems()[0]
			require.Equal(t, 2, p.Version, "the update took effect")
			require.Equal(t, confluencefake.DefaultAccount, p.VersionBy)

			// The record still says version 1.
			ref, err := b.client.Export(ctx, doc("<p>v3</p>"), &first)
			require.NoError(t, err)
			require.Equal(t, 3, ref.Version)
			require.Equal(t, "<p>v3</p>", written(t, b.postmortems()[0]))

			// Lost again, and then the team edits: the edit is seen.
			b.fake.Fail(confluencefake.Fault{Method: http.MethodPut, Status: http.StatusBadGateway, AfterEffect: true})
			_, err = b.client.Export(ctx, doc("<p>v4</p>"), &ref)
			require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
			require.NoError(t, b.fake.Edit(first.ID, teamPage, jane))
			_, err = b.client.Export(ctx, doc("<p>v5</p>"), &ref)
			requireLeftAlone(t, err, edited("Jane Doe", "5", first.URL))
			require.Equal(t, teamPage, b.postmortems()[0].Body)
		})
	}
}

// saveFirst makes a person save the page in the browser just before the
// client's first update reaches Confluence: between its read and its write.
type saveFirst struct {
	fake *confluencefake.Server
	id   string
	once sync.Once
}

func (s *saveFirst) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		s.once.Do(func() {
			if err := s.fake.Edit(s.id, teamPage, jane); err != nil {
				panic(err)
			}
		})
	}
	return http.DefaultTransport.RoundTrip(req)
}

// A save in the browser between the client's read and its write makes the
// write conflict; the read after the conflict sees the edit, and the page
// is left alone rather than written over.
func TestBrowserSaveDuringTheExportIsNotOverwritten(t *testing.T) {
	t.Parallel()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := f.setup(t)
			ctx := context.Background()
			first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
			require.NoError(t, err)

			cfg := f.config(b)
			cfg.HTTPClient = &http.Client{Transport: &saveFirst{fake: b.fake, id: first.ID}}
			_, err = confluence.New(cfg).Export(ctx, doc("<p>v2</p>"), &first)
			requireLeftAlone(t, err, edited("Jane Doe", "2", first.URL))
			require.Equal(t, teamPage, b.postmortems()[0].Body)
			require.Contains(t, f.calls(b), "PUT "+f.page+first.ID+" Conflict")
		})
	}
}

// Without a record of the version the bot wrote (the page found by its
// marker), a page whose latest version someone else saved is left alone
// too: the bot's own page is at the version it created or one it wrote.
func TestPageFoundByItsMarkerAndEditedIsLeftAlone(t *testing.T) {
	t.Parallel()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := f.setup(t)
			ctx := context.Background()
			first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
			require.NoError(t, err)
			second, err := b.client.Export(ctx, doc("<p>v2</p>"), &first)
			require.NoError(t, err)

			// The record is lost: the page is found by title and marker.
			ref, err := b.client.Export(ctx, doc("<p>v3</p>"), nil)
			require.NoError(t, err)
			require.Equal(t, second.ID, ref.ID)
			require.Equal(t, 3, ref.Version)

			require.NoError(t, b.fake.Edit(first.ID, teamPage, jane))
			_, err = b.client.Export(ctx, doc("<p>v4</p>"), nil)
			requireLeftAlone(t, err, edited("Jane Doe", "4", first.URL))
			require.Equal(t, teamPage, b.postmortems()[0].Body)
		})
	}
}

// Someone saving in the browser with the bot's own account is a person's
// edit all the same: the version carries no bot message.
func TestEditWithTheBotsAccountIsAnEdit(t *testing.T) {
	t.Parallel()
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			b := f.setup(t)
			ctx := context.Background()
			first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
			require.NoError(t, err)
			require.NoError(t, b.fake.Edit(first.ID, teamPage, confluencefake.DefaultAccount))
			_, err = b.client.Export(ctx, doc("<p>v2</p>"), &first)
			require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
			require.Equal(t, teamPage, b.postmortems()[0].Body)
		})
	}
}

// When Confluence Cloud will not name the editor (the user lookup refused),
// the export says so without a name.
func TestEditorUnnamedWhenTheLookupFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	first, err := b.client.Export(ctx, doc("<p>v1</p>"), nil)
	require.NoError(t, err)
	require.NoError(t, b.fake.Edit(first.ID, teamPage, jane))
	b.fake.Fail(confluencefake.Fault{Method: http.MethodPost, PathContains: "/users-bulk", Status: http.StatusForbidden})
	_, err = b.client.Export(ctx, doc("<p>v2</p>"), &first)
	requireLeftAlone(t, err, edited("", "2", first.URL))
	require.Equal(t, teamPage, b.postmortems()[0].Body)
}
