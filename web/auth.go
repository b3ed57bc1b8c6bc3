package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// loginTTL is how long the login cookie lives: it carries the OAuth state
// and the OpenID Connect nonce (and where to go afterwards) from
// /auth/start to /auth/callback, no longer than a sign-in takes.
const loginTTL = 10 * time.Minute

// viewer is who is asking: a signed-in person, or an API token acting for
// one.
type viewer struct {
	UserID  string
	Name    string
	Admin   bool
	Session *incident.WebSession
	Token   *incident.APIToken
}

type viewerKey struct{}

func viewerFrom(ctx context.Context) *viewer {
	v, _ := ctx.Value(viewerKey{}).(*viewer)
	return v
}

// signIn is Sign in with Slack and the sessions it opens: the login page,
// the OAuth round trip, the session cookie, the CSRF check on every form,
// and the admin gate.
type signIn struct {
	*site
	team   *teamCache
	secure bool
	cookie string
	// login is the name of the login cookie.
	login string
	httpc *http.Client
}

func newSignIn(st *site, secure bool) *signIn {
	s := &signIn{
		site:   st,
		team:   &teamCache{api: st.cfg.Slack, fixed: st.cfg.TeamID},
		secure: secure,
		cookie: "firebreak_session",
		login:  "firebreak_login",
		httpc:  &http.Client{Timeout: 10 * time.Second},
	}
	if secure {
		// __Host- cookies are Secure, host-only and Path=/ by rule, so a
		// sibling subdomain cannot plant or overwrite them: neither a
		// session nor a sign-in's state and nonce (login CSRF).
		s.cookie = "__Host-firebreak_session"
		s.login = "__Host-firebreak_login"
	}
	return s
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func (s *signIn) callbackURL() string { return s.cfg.PublicURL + "/auth/callback" }

// safeNext keeps a post-sign-in redirect on this site: a path, never a
// scheme-relative or absolute URL. Browsers drop tabs and newlines from a
// URL and read a backslash as a slash, so "/\t/evil" or "/\\evil" would
// leave the site: a next with a control character or a backslash is
// refused.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/incidents"
	}
	return next
}

func (s *signIn) serveLogin(w http.ResponseWriter, r *http.Request) {
	if v, err := s.sessionViewer(r); err == nil && v != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusFound)
		return
	}
	s.render(w, r, http.StatusOK, "login", map[string]any{
		"Next":  safeNext(r.URL.Query().Get("next")),
		"Error": r.URL.Query().Get("error"),
	})
}

// serveAuthStart sends the browser to Slack's consent page with a fresh
// state and nonce, remembered in a short-lived cookie.
func (s *signIn) serveAuthStart(w http.ResponseWriter, r *http.Request) {
	team, err := s.team.get(r.Context())
	if err != nil {
		s.pageError(w, r, incident.Errorf(incident.EUNAVAILABLE, "Slack cannot be reached to sign you in; try again in a minute."))
		return
	}
	state, nonce := randomString(24), randomString(16)
	next := safeNext(r.URL.Query().Get("next"))
	http.SetCookie(w, &http.Cookie{
		Name: s.login, Value: state + "|" + nonce + "|" + url.QueryEscape(next), Path: "/",
		MaxAge: int(loginTTL / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
	q := url.Values{
		"response_type": {"code"},
		"scope":         {"openid profile email"},
		"client_id":     {s.cfg.ClientID},
		"redirect_uri":  {s.callbackURL()},
		"state":         {state},
		"nonce":         {nonce},
		"team":          {team},
	}
	http.Redirect(w, r, s.cfg.AuthorizeURL+"?"+q.Encode(), http.StatusFound)
}

// serveAuthCallback finishes Sign in with Slack: it checks the state,
// exchanges the code (openid.connect.token), checks that the id_token
// carries this sign-in's nonce, asks who signed in
// (openid.connect.userInfo), refuses another workspace, and opens a session.
func (s *signIn) serveAuthCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	c, err := r.Cookie(s.login)
	// The login cookie is single-use.
	http.SetCookie(w, &http.Cookie{Name: s.login, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	if err != nil {
		s.loginFailed(w, r, "expired", "the sign-in took too long or started elsewhere")
		return
	}
	state, rest, _ := strings.Cut(c.Value, "|")
	nonce, nextEsc, _ := strings.Cut(rest, "|")
	if subtle.ConstantTimeCompare([]byte(state), []byte(q.Get("state"))) != 1 || state == "" {
		s.loginFailed(w, r, "state", "the sign-in state did not match")
		return
	}
	if q.Get("error") != "" {
		s.loginFailed(w, r, "denied", "Slack reported "+q.Get("error"))
		return
	}
	tok, err := slack.GetOpenIDConnectTokenContext(ctx, s.httpc, s.cfg.ClientID, s.cfg.ClientSecret, q.Get("code"), s.callbackURL(),
		slack.OAuthOptionAPIURL(s.cfg.SlackAPIURL))
	if err != nil {
		s.loginFailed(w, r, "exchange", "openid.connect.token: "+err.Error())
		return
	}
	// The code must be the one Slack issued to this browser's sign-in, not
	// one issued to somebody else's and pasted here with our state.
	if got := idTokenNonce(tok.IdToken); nonce == "" || subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		s.loginFailed(w, r, "nonce", "the id_token's nonce did not match the sign-in's")
		return
	}
	info, err := slack.New(tok.AccessToken, slack.OptionAPIURL(s.cfg.SlackAPIURL), slack.OptionHTTPClient(s.httpc)).
		GetOpenIDConnectUserInfoContext(ctx)
	if err != nil {
		s.loginFailed(w, r, "userinfo", "openid.connect.userInfo: "+err.Error())
		return
	}
	team, err := s.team.get(ctx)
	if err != nil {
		s.pageError(w, r, incident.Errorf(incident.EUNAVAILABLE, "Slack cannot be reached to sign you in; try again in a minute."))
		return
	}
	if info.TeamID != team || info.UserID == "" {
		s.cfg.Logger.WarnContext(ctx, "sign-in from another workspace refused", "team", info.TeamID, "user", info.UserID)
		s.loginFailed(w, r, "workspace", "")
		return
	}
	// The session the browser came with, if any, ends here: a sign-in
	// always opens a new session under a new secret, so a cookie planted
	// before it (session fixation) or left from an earlier sign-in is of
	// no use after it.
	if err := s.revokePresented(r); err != nil {
		s.pageError(w, r, err)
		return
	}
	secret := randomString(32)
	now := s.cfg.Clock.Now()
	sess := &incident.WebSession{ID: hashSecret(secret), UserID: info.UserID, TeamID: info.TeamID, Name: info.Name,
		CSRFToken: randomString(32), CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.cfg.Access.CreateSession(ctx, sess); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: secret, Path: "/", MaxAge: int(s.cfg.SessionTTL / time.Second),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	s.cfg.Logger.InfoContext(ctx, "signed in", "user", info.UserID)
	next, _ := url.QueryUnescape(nextEsc)
	http.Redirect(w, r, safeNext(next), http.StatusFound)
}

// idTokenNonce returns the nonce claim of an id_token, "" when there is
// none. The token comes straight from Slack's token endpoint over TLS, in
// exchange for the client secret, so its signature need not be checked
// (OpenID Connect Core 3.1.3.7).
func idTokenNonce(idToken string) string {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Nonce string `json:"nonce"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Nonce
}

// revokePresented deletes, server-side, every session the request's
// session cookies name: a browser may send more than one cookie of that
// name (one set for a parent domain, say), and none of them may outlive a
// new sign-in.
func (s *signIn) revokePresented(r *http.Request) error {
	for _, c := range r.CookiesNamed(s.cookie) {
		if c.Value == "" {
			continue
		}
		if err := s.cfg.Access.DeleteSession(r.Context(), hashSecret(c.Value)); err != nil {
			return err
		}
	}
	return nil
}

func (s *signIn) loginFailed(w http.ResponseWriter, r *http.Request, code, detail string) {
	if detail != "" {
		s.cfg.Logger.WarnContext(r.Context(), "sign-in failed", "reason", code, "detail", detail)
	}
	http.Redirect(w, r, "/login?error="+url.QueryEscape(code), http.StatusFound)
}

// sessionViewer returns the signed-in person, nil when nobody is.
func (s *signIn) sessionViewer(r *http.Request) (*viewer, error) {
	c, err := r.Cookie(s.cookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess, err := s.cfg.Access.GetSession(r.Context(), hashSecret(c.Value))
	switch {
	case incident.ErrorCode(err) == incident.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, err
	case !s.cfg.Clock.Now().Before(sess.ExpiresAt):
		return nil, nil
	}
	// Someone deactivated in Slack is signed out within the name cache's
	// time; while Slack cannot be asked, or does not answer within
	// checkBudget, the session stands.
	if ok, err := s.active(r.Context(), sess.UserID); err == nil && !ok {
		s.cfg.Logger.InfoContext(r.Context(), "signed out a person deactivated in Slack", "user", sess.UserID)
		if err := s.cfg.Access.DeleteSession(r.Context(), sess.ID); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return &viewer{UserID: sess.UserID, Name: sess.Name, Admin: s.isAdmin(sess.UserID), Session: sess}, nil
}

// requireSession refuses anybody not signed in: pages redirect to the
// sign-in page, anything else gets 401. Every unsafe method must carry the
// session's CSRF token.
func (s *signIn) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.sessionViewer(r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		if v == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
				return
			}
			http.Error(w, "Sign in first.", http.StatusUnauthorized)
			return
		}
		// What a signed-in person is sent is theirs alone: no cache or
		// proxy in front may keep it, the downloads (CSV, Markdown) as
		// much as the pages.
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// The web view's forms are a few fields.
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			given := r.PostFormValue("csrf_token")
			if given == "" {
				given = r.Header.Get("X-CSRF-Token")
			}
			if subtle.ConstantTimeCompare([]byte(given), []byte(v.Session.CSRFToken)) != 1 {
				s.cfg.Logger.WarnContext(r.Context(), "CSRF token missing or wrong", "user", v.UserID, "path", r.URL.Path)
				s.pageError(w, r, incident.Errorf(incident.EFORBIDDEN, "This form has expired. Go back, reload the page and try again."))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	})
}

func (s *signIn) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := viewerFrom(r.Context()); v == nil || !v.Admin {
			s.pageError(w, r, incident.Errorf(incident.EFORBIDDEN, "Only firebreak's admins manage API tokens."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *signIn) serveLogout(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r.Context())
	if err := s.cfg.Access.DeleteSession(r.Context(), v.Session.ID); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// teamCache remembers the bot's workspace, from auth.test.
type teamCache struct {
	api   *slack.Client
	fixed string

	mu sync.Mutex
	id string
}

func (t *teamCache) get(ctx context.Context) (string, error) {
	if t.fixed != "" {
		return t.fixed, nil
	}
	t.mu.Lock()
	id := t.id
	t.mu.Unlock()
	if id != "" {
		return id, nil
	}
	resp, err := t.api.AuthTestContext(ctx)
	if err != nil {
		return "", err
	}
	if resp.TeamID == "" {
		return "", errors.New("auth.test returned no team id")
	}
	t.mu.Lock()
	t.id = resp.TeamID
	t.mu.Unlock()
	return resp.TeamID, nil
}

// active is the session's check that its person is still active in
// Slack, bounded (checkBudget) so that a Slack slow to answer does not hold
// every page back: unanswered, the session stands.
func (s *signIn) active(ctx context.Context, userID string) (bool, error) {
	return s.names.active(ctx, userID)
}
