package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/web"
)

// Every route, redirect, link and cookie of the web view is at the root of
// its host, so a public URL with a path (the callback Slack is sent to
// would not be served), a query or a fragment (even an empty one), or a
// user name and password is refused by New, naming PUBLIC_URL; a trailing
// slash is the root, and the callback is then at /auth/callback.
func TestPublicURLWithAPathIsRefused(t *testing.T) {
	var base web.Config
	setup(t, func(cfg *web.Config) { base = *cfg })
	for _, suffix := range []string{"/firebreak", "/firebreak/", "/?next=/incidents", "/#top", "#", "/#", "?"} {
		cfg := base
		cfg.PublicURL += suffix
		_, err := web.New(cfg)
		require.Error(t, err, cfg.PublicURL)
		require.Contains(t, err.Error(), "PUBLIC_URL")
		require.Contains(t, err.Error(), cfg.PublicURL)
	}

	// A user name and password would go out in every link.
	cfg := base
	cfg.PublicURL = strings.Replace(cfg.PublicURL, "://", "://admin:secret@", 1)
	_, err := web.New(cfg)
	require.ErrorContains(t, err, "holds a user name or password")

	f := setup(t, func(cfg *web.Config) { cfg.PublicURL += "/" })
	resp, _ := f.browser().get("/auth/start")
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc := resp.Header.Get("Location")
	require.Contains(t, loc, "redirect_uri="+strings.NewReplacer(":", "%3A", "/", "%2F").Replace(f.srv.URL)+"%2Fauth%2Fcallback&")
}
