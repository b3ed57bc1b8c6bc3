package slackfake_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

const redirectURI = "https://firebreak.example/auth/callback"

// authorize walks the consent page as a browser would: GET shows it, and
// choosing a person posts back and is redirected with a code.
func authorize(t *testing.T, f *fixture, userID string, extra url.Values) *url.URL {
	t.Helper()
	q := url.Values{"client_id": {slackfake.DefaultClientID}, "response_type": {"code"}, "scope": {"openid profile email"},
		"redirect_uri": {redirectURI}, "state": {"st4te"}, "nonce": {"n0nce"}}
	for k, v := range extra {
		q[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(f.srv.BaseURL() + "/openid/connect/authorize?" + q.Encode())
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(page))
	require.Contains(t, string(page), `id="signin-`+userID+`"`)

	form := url.Values{"user_id": {userID}}
	for k, v := range q {
		form[k] = v
	}
	resp, err = client.PostForm(f.srv.BaseURL()+"/openid/connect/authorize", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "st4te", loc.Query().Get("state"))
	return loc
}

func TestSignInWithSlack(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	loc := authorize(t, f, f.alice.ID, nil)
	require.True(t, strings.HasPrefix(loc.String(), redirectURI+"?"))
	code := loc.Query().Get("code")
	require.NotEmpty(t, code)

	opt := slack.OAuthOptionAPIURL(f.srv.URL())
	resp, err := slack.GetOpenIDConnectTokenContext(ctx, http.DefaultClient, slackfake.DefaultClientID, slackfake.DefaultClientSecret, code, redirectURI, opt)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(resp.AccessToken, "xoxp-"))
	require.Len(t, strings.Split(resp.IdToken, "."), 3)

	user := slack.New(resp.AccessToken, slack.OptionAPIURL(f.srv.URL()))
	info, err := user.GetOpenIDConnectUserInfoContext(ctx)
	require.NoError(t, err)
	require.Equal(t, f.alice.ID, info.UserID)
	require.Equal(t, f.srv.TeamID(), info.TeamID)
	require.Equal(t, "alice@example.com", info.Email)
	require.Equal(t, "Alice A", info.Name)

	_, err = slack.GetOpenIDConnectTokenContext(ctx, http.DefaultClient, slackfake.DefaultClientID, slackfake.DefaultClientSecret, code, redirectURI, opt)
	require.Equal(t, "invalid_code", slackErr(t, err), "a code works once")

	_, err = f.api.GetOpenIDConnectUserInfoContext(ctx)
	require.Equal(t, "not_allowed_token_type", slackErr(t, err), "the bot token identifies nobody")
	_, _, err = user.PostMessageContext(ctx, f.incident.ID, slack.MsgOptionText("hi", false))
	require.Equal(t, "not_allowed_token_type", slackErr(t, err), "a sign-in token cannot post")
}

func TestSignInWithSlackRefusals(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	opt := slack.OAuthOptionAPIURL(f.srv.URL())
	exchange := func(clientID, secret, code, redirect string, opts ...slack.OAuthOption) error {
		_, err := slack.GetOpenIDConnectTokenContext(ctx, http.DefaultClient, clientID, secret, code, redirect, append(opts, opt)...)
		return err
	}
	code := func() string { return authorize(t, f, f.bob.ID, nil).Query().Get("code") }

	require.Equal(t, "invalid_client_id", slackErr(t, exchange("nope", slackfake.DefaultClientSecret, code(), redirectURI)))
	require.Equal(t, "bad_client_secret", slackErr(t, exchange(slackfake.DefaultClientID, "wrong", code(), redirectURI)))
	require.Equal(t, "bad_redirect_uri", slackErr(t, exchange(slackfake.DefaultClientID, slackfake.DefaultClientSecret, code(), "https://evil.example/cb")))
	require.Equal(t, "invalid_code", slackErr(t, exchange(slackfake.DefaultClientID, slackfake.DefaultClientSecret, "made-up", redirectURI)))

	stale := code()
	f.clock.Advance(slackfake.CodeTTL + time.Second)
	require.Equal(t, "invalid_code", slackErr(t, exchange(slackfake.DefaultClientID, slackfake.DefaultClientSecret, stale, redirectURI)), "codes expire")

	verifier := "a-long-enough-verifier-0123456789-abcdefghijklmnop"
	sum := sha256.Sum256([]byte(verifier))
	pkce := url.Values{"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	// slack-go's GetOpenIDConnectToken sends no code_verifier, so post the
	// form as a PKCE client would.
	post := func(code, v string) string {
		resp, err := http.PostForm(f.srv.URL()+"openid.connect.token", url.Values{"client_id": {slackfake.DefaultClientID},
			"client_secret": {slackfake.DefaultClientSecret}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {v},
			"grant_type": {"authorization_code"}})
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	require.Contains(t, post(authorize(t, f, f.bob.ID, pkce).Query().Get("code"), "wrong"), `"error":"invalid_grant"`)
	require.Contains(t, post(authorize(t, f, f.bob.ID, pkce).Query().Get("code"), verifier), `"ok":true`)

	// Bad authorization requests never reach the consent page.
	for _, q := range []url.Values{
		{"client_id": {"nope"}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {redirectURI}},
		{"client_id": {slackfake.DefaultClientID}, "response_type": {"token"}, "scope": {"openid"}, "redirect_uri": {redirectURI}},
		{"client_id": {slackfake.DefaultClientID}, "response_type": {"code"}, "scope": {"profile"}, "redirect_uri": {redirectURI}},
		{"client_id": {slackfake.DefaultClientID}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {"javascript:alert(1)"}},
	} {
		resp, err := http.Get(f.srv.BaseURL() + "/openid/connect/authorize?" + q.Encode())
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, q.Encode())
	}

	// Cancel sends the person back with access_denied.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(f.srv.BaseURL()+"/openid/connect/authorize", url.Values{"client_id": {slackfake.DefaultClientID},
		"response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {redirectURI}, "state": {"s"}, "cancel": {"1"}})
	require.NoError(t, err)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "access_denied", loc.Query().Get("error"))
	require.Equal(t, "s", loc.Query().Get("state"))
}

func TestSignInFromAnotherWorkspaceReportsThatTeam(t *testing.T) {
	t.Parallel()
	f := setup(t)
	eve := f.srv.AddUser(slackfake.User{Name: "eve", RealName: "Eve E", TeamID: "T0OTHER"})
	code := authorize(t, f, eve.ID, nil).Query().Get("code")
	resp, err := slack.GetOpenIDConnectTokenContext(context.Background(), http.DefaultClient, slackfake.DefaultClientID,
		slackfake.DefaultClientSecret, code, redirectURI, slack.OAuthOptionAPIURL(f.srv.URL()))
	require.NoError(t, err)
	info, err := slack.New(resp.AccessToken, slack.OptionAPIURL(f.srv.URL())).GetOpenIDConnectUserInfo()
	require.NoError(t, err)
	require.Equal(t, "T0OTHER", info.TeamID)
}
