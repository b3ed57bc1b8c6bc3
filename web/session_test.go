package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// sessionCookie is the session secret the browser holds, "" for none.
func (b *browser) sessionCookie() string {
	b.t.Helper()
	u, err := url.Parse(b.f.srv.URL)
	require.NoError(b.t, err)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "firebreak_session" {
			return c.Value
		}
	}
	return ""
}

// setSessionCookie puts a session cookie in the browser, as another tab,
// an earlier sign-in or an attacker planting one would.
func (b *browser) setSessionCookie(secret string) {
	b.t.Helper()
	u, err := url.Parse(b.f.srv.URL)
	require.NoError(b.t, err)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "firebreak_session", Value: secret, Path: "/"}})
}

// requireSession checks what the store holds for a session secret: the
// session of user, or none ("").
func requireSession(t *testing.T, f *fixture, secret, user string) {
	t.Helper()
	sum := sha256.Sum256([]byte(secret))
	sess, err := f.access.GetSession(context.Background(), hex.EncodeToString(sum[:]))
	if user == "" {
		incidenttest.RequireCode(t, err, incident.ENOTFOUND)
		return
	}
	require.NoError(t, err)
	require.Equal(t, user, sess.UserID)
}

// requireSignedOut checks that a browser holding only secret is sent to
// the sign-in page.
func requireSignedOut(t *testing.T, f *fixture, secret string) {
	t.Helper()
	b := f.browser()
	b.setSessionCookie(secret)
	resp, body := b.get("/incidents")
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, "/login?next=%2Fincidents", resp.Header.Get("Location"))
	require.NotContains(t, body, "checkout is down")
}

// TestSignInAgainEndsTheEarlierSession: signing in again, as the same
// person or another, opens a session under a new secret and ends the one
// the browser came with, server-side, so a copy of the old cookie is
// worth nothing.
func TestSignInAgainEndsTheEarlierSession(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	b.signIn(f.alice)
	first := b.sessionCookie()
	require.NotEmpty(t, first)
	requireSession(t, f, first, f.alice.ID)

	b.signIn(f.alice)
	second := b.sessionCookie()
	require.NotEqual(t, first, second, "a new sign-in gets a new secret")
	requireSession(t, f, second, f.alice.ID)
	requireSession(t, f, first, "")
	requireSignedOut(t, f, first)

	// Bob signs in on Alice's browser: her session ends with it.
	b.signIn(f.bob)
	third := b.sessionCookie()
	requireSession(t, f, third, f.bob.ID)
	requireSession(t, f, second, "")
	requireSignedOut(t, f, second)
	resp, _ := b.get("/incidents")
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestPlantedSessionCookieIsNotAdopted: a session cookie an attacker plants
// before the victim signs in (session fixation) is never the victim's
// session. The sign-in opens a new one under a secret the attacker does
// not know, and ends the planted one, whether it named nothing or the
// attacker's own session.
func TestPlantedSessionCookieIsNotAdopted(t *testing.T) {
	t.Parallel()
	f := setup(t)

	victim := f.browser()
	victim.setSessionCookie("chosen-by-the-attacker")
	victim.signIn(f.alice)
	require.NotEqual(t, "chosen-by-the-attacker", victim.sessionCookie())
	requireSession(t, f, "chosen-by-the-attacker", "")
	requireSession(t, f, victim.sessionCookie(), f.alice.ID)

	// The attacker signs in as themselves and plants that session's cookie.
	attacker := f.browser()
	attacker.signIn(f.bob)
	planted := attacker.sessionCookie()
	victim = f.browser()
	victim.setSessionCookie(planted)
	victim.signIn(f.alice)
	require.NotEqual(t, planted, victim.sessionCookie())
	requireSession(t, f, victim.sessionCookie(), f.alice.ID)
	requireSession(t, f, planted, "")
	requireSignedOut(t, f, planted)
}

// TestSignOutEndsTheSessionServerSide: after signing out, a copy of the
// session cookie (kept by another tab, a proxy log, a stolen backup) no
// longer signs anybody in.
func TestSignOutEndsTheSessionServerSide(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	b.signIn(f.alice)
	secret := b.sessionCookie()
	_, page := b.get("/incidents")
	resp, _ := b.post("/logout", url.Values{"csrf_token": {csrfFrom(t, page)}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/login", resp.Header.Get("Location"))
	require.Empty(t, b.sessionCookie(), "the browser is told to drop the cookie")
	requireSession(t, f, secret, "")
	requireSignedOut(t, f, secret)
}
