package slackfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sign in with Slack (OpenID Connect). The fake serves:
//
//   - /openid/connect/authorize: Slack's consent page. Instead of a real
//     person's session it lists the workspace's people with a "Continue as"
//     button each (and a Cancel button); choosing one redirects to the
//     redirect_uri with a one-time code and the state, as Slack does.
//   - openid.connect.token: exchanges the code for an access token (xoxp-...)
//     and an RS256-signed id_token, checking the client credentials, that the
//     code is fresh, unused and issued to this client, the redirect_uri, and
//     the PKCE code_verifier when the authorization carried a code_challenge.
//   - openid.connect.userInfo: the signed-in person's claims, for that
//     access token only (a bot token is not_allowed_token_type).
//   - /openid/connect/keys and /.well-known/openid-configuration.
//
// Codes live for CodeTTL and work once, the strictest reading of OAuth 2.0
// (RFC 6749 section 4.1.2).

// CodeTTL is how long an authorization code can be exchanged.
const CodeTTL = 10 * time.Minute

type authCode struct {
	userID      string
	clientID    string
	redirectURI string
	nonce       string
	challenge   string
	expires     time.Time
}

type oidcState struct {
	mu     sync.Mutex
	codes  map[string]*authCode
	tokens map[string]string // access token -> user id
	key    *rsa.PrivateKey
}

func (o *oidcState) userForToken(token string) string {
	if token == "" {
		return ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.tokens[token]
}

func (o *oidcState) signingKey() *rsa.PrivateKey {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("slackfake: generate key: " + err.Error())
		}
		o.key = k
	}
	return o.key
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to {{.Team}}</title></head>
<body>
<h1>Sign in to {{.Team}}</h1>
<p>{{.App}} wants to confirm who you are.</p>
{{range .Users}}
<form method="post" action="/openid/connect/authorize">
{{range $k, $v := $.Params}}{{range $v}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<input type="hidden" name="user_id" value="{{.ID}}">
<button type="submit" id="signin-{{.ID}}">Continue as {{.RealName}}</button>
</form>
{{end}}
<form method="post" action="/openid/connect/authorize">
{{range $k, $v := .Params}}{{range $v}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<button type="submit" name="cancel" value="1" id="cancel">Cancel</button>
</form>
</body></html>`))

// checkAuthorize validates an authorization request and returns the
// problem, or "".
func (s *signIn) checkAuthorize(q url.Values) string {
	switch {
	case q.Get("client_id") != s.cfg.clientID:
		return "invalid_client_id"
	case q.Get("response_type") != "code":
		return "unsupported_response_type"
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return "invalid_scope"
	}
	u, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "bad_redirect_uri"
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" {
		return "invalid_request"
	}
	return ""
}

// authorizeParams are the parameters of an authorization request the
// consent page carries over.
var authorizeParams = []string{"client_id", "response_type", "scope", "redirect_uri", "state", "nonce", "team", "code_challenge", "code_challenge_method"}

func (s *signIn) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid_request", http.StatusBadRequest)
		return
	}
	params := url.Values{}
	for _, k := range authorizeParams {
		if v := r.Form.Get(k); v != "" {
			params.Set(k, v)
		}
	}
	if problem := s.checkAuthorize(params); problem != "" {
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.consent(w, params)
	case http.MethodPost:
		s.grant(w, r, params)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// consent shows the consent page: a "Continue as" button per person.
func (s *signIn) consent(w http.ResponseWriter, params url.Values) {
	s.mu.Lock()
	var users []User
	for _, id := range s.userOrder {
		if u := s.users[id]; !u.IsBot && !u.Deleted {
			users = append(users, *u)
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = consentPage.Execute(w, map[string]any{"Team": s.cfg.teamName, "App": s.cfg.botName, "Users": users, "Params": params})
}

// grant answers the consent page: back to the redirect_uri with a fresh
// code for the person chosen, or with access_denied on Cancel.
func (s *signIn) grant(w http.ResponseWriter, r *http.Request, params url.Values) {
	redirect := func(extra url.Values) {
		u, _ := url.Parse(params.Get("redirect_uri"))
		q := u.Query()
		for k, v := range extra {
			q[k] = v
		}
		if st := params.Get("state"); st != "" {
			q.Set("state", st)
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	if r.PostForm.Get("cancel") != "" {
		redirect(url.Values{"error": {"access_denied"}})
		return
	}
	u, found := s.User(r.PostForm.Get("user_id"))
	if !found || u.IsBot || u.Deleted {
		http.Error(w, "user_not_found", http.StatusBadRequest)
		return
	}
	code := randomToken(24)
	s.oidc.mu.Lock()
	if s.oidc.codes == nil {
		s.oidc.codes = map[string]*authCode{}
	}
	s.oidc.codes[code] = &authCode{userID: u.ID, clientID: params.Get("client_id"), redirectURI: params.Get("redirect_uri"),
		nonce: params.Get("nonce"), challenge: params.Get("code_challenge"), expires: s.cfg.now().Add(CodeTTL)}
	s.oidc.mu.Unlock()
	redirect(url.Values{"code": {code}})
}

func (s *signIn) openIDConnectToken(r *apiRequest) result {
	clientID, secret := r.str("client_id"), r.str("client_secret")
	switch {
	case clientID == "":
		return fail("invalid_client_id")
	case clientID != s.cfg.clientID:
		return fail("invalid_client_id")
	case subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.clientSecret)) != 1:
		return fail("bad_client_secret")
	}
	if gt := r.str("grant_type"); gt != "" && gt != "authorization_code" {
		return fail("unsupported_grant_type")
	}
	code, problem := s.redeem(r, clientID)
	if problem != "" {
		return fail(problem)
	}
	u, found := s.User(code.userID)
	if !found {
		return fail("invalid_code")
	}
	token := "xoxp-" + randomToken(24)
	s.oidc.mu.Lock()
	if s.oidc.tokens == nil {
		s.oidc.tokens = map[string]string{}
	}
	s.oidc.tokens[token] = u.ID
	s.oidc.mu.Unlock()

	claims := s.claims(u)
	claims["iss"] = "http://" + r.host
	claims["aud"] = clientID
	claims["iat"] = r.now.Unix()
	claims["exp"] = r.now.Add(time.Hour).Unix()
	claims["auth_time"] = r.now.Unix()
	if code.nonce != "" {
		claims["nonce"] = code.nonce
	}
	return ok(result{"access_token": token, "token_type": "Bearer", "id_token": s.signJWT(claims)})
}

// redeem uses up the request's code and returns it, or the error code when
// it is unknown, expired, another client's, for another redirect_uri or
// fails its PKCE challenge. A code works once, even when the exchange then
// fails.
func (s *signIn) redeem(r *apiRequest, clientID string) (*authCode, string) {
	s.oidc.mu.Lock()
	code := s.oidc.codes[r.str("code")]
	delete(s.oidc.codes, r.str("code"))
	s.oidc.mu.Unlock()
	switch {
	case code == nil || !r.now.Before(code.expires):
		return nil, "invalid_code"
	case code.clientID != clientID:
		return nil, "invalid_code"
	case code.redirectURI != r.str("redirect_uri"):
		return nil, "bad_redirect_uri"
	}
	if code.challenge != "" {
		sum := sha256.Sum256([]byte(r.str("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge {
			return nil, "invalid_grant"
		}
	}
	return code, ""
}

func (s *signIn) openIDConnectUserInfo(r *apiRequest) result {
	u, found := s.User(s.oidc.userForToken(r.token))
	if !found {
		return fail("invalid_auth")
	}
	return ok(result(s.claims(u)))
}

// claims are the OpenID Connect claims Slack reports for a person.
func (s *signIn) claims(u User) map[string]any {
	team := u.TeamID
	if team == "" {
		team = s.cfg.teamID
	}
	given, family, _ := strings.Cut(u.RealName, " ")
	return map[string]any{
		"sub":                           u.ID,
		"https://slack.com/user_id":     u.ID,
		"https://slack.com/team_id":     team,
		"email":                         u.Email,
		"email_verified":                u.Email != "",
		"name":                          u.RealName,
		"given_name":                    given,
		"family_name":                   family,
		"locale":                        "en-US",
		"https://slack.com/team_name":   s.cfg.teamName,
		"https://slack.com/team_domain": s.cfg.teamDomain,
	}
}

func (s *signIn) signJWT(claims map[string]any) string {
	key := s.oidc.signingKey()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "fake-key-1"})
	body, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic("slackfake: sign id_token: " + err.Error())
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (s *signIn) serveKeys(w http.ResponseWriter, _ *http.Request) {
	pub := s.oidc.signingKey().PublicKey
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "fake-key-1",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (s *signIn) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	base := "http://" + r.Host
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/openid/connect/authorize",
		"token_endpoint":                        base + "/api/openid.connect.token",
		"userinfo_endpoint":                     base + "/api/openid.connect.userInfo",
		"jwks_uri":                              base + "/openid/connect/keys",
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"form_post"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"sub", "auth_time", "iss"},
		"claims_parameter_supported":            false,
		"request_parameter_supported":           false,
		"request_uri_parameter_supported":       true,
		"token_endpoint_auth_methods_supported": []string{"client_secret_post"},
	})
}
