package slackfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Default identities of the fake workspace. Tests may rely on them; override them
// with options when a test needs other values.
const (
	DefaultBotToken      = "xoxb-fake-bot-token"
	DefaultAppToken      = "xapp-fake-app-token"
	DefaultTeamID        = "T0FAKE001"
	DefaultTeamDomain    = "fake-workspace"
	DefaultTeamName      = "Fake Workspace"
	DefaultBotUserID     = "U0FAKEB0T"
	DefaultBotID         = "B0FAKEB0T"
	DefaultBotName       = "firebreak"
	DefaultAppID         = "A0FAKEAPP"
	DefaultClientID      = "1111111111.2222222222"
	DefaultClientSecret  = "fake-client-secret"
	DefaultTriggerTTL    = 3 * time.Second
	DefaultPingInterval  = 10 * time.Second
	DefaultInviteLimit   = 100
	DefaultBookmarkLimit = 100
)

// maxRequestBody bounds what one API call may send; Slack's own limits are far lower
// for every method the fake serves, so anything bigger is a bug in the caller.
const maxRequestBody = 8 << 20

type config struct {
	rateLimits    bool
	botToken      string
	appToken      string
	teamID        string
	teamDomain    string
	teamName      string
	botUserID     string
	botID         string
	botName       string
	appID         string
	clientID      string
	clientSecret  string
	triggerTTL    time.Duration
	pingInterval  time.Duration
	inviteLimit   int
	bookmarkLimit int
	now           func() time.Time
	seed          uint64
	addr          string
	publicWrite   bool
	withoutScope  map[string]bool
}

// Option configures a Server.
type Option func(*config)

// WithBotToken sets the bot token (xoxb-...) that every Web API method except
// apps.connections.open accepts.
func WithBotToken(token string) Option { return func(c *config) { c.botToken = token } }

// WithAppToken sets the app-level token (xapp-...) that apps.connections.open accepts.
func WithAppToken(token string) Option { return func(c *config) { c.appToken = token } }

// WithTeam sets the workspace id and domain (used in permalinks and payloads).
func WithTeam(id, domain string) Option {
	return func(c *config) { c.teamID, c.teamDomain = id, domain }
}

// WithBotUser sets the bot's user id and name, the identity behind the bot token.
func WithBotUser(userID, name string) Option {
	return func(c *config) { c.botUserID, c.botName = userID, name }
}

// WithClient sets the OAuth client id and secret that Sign in with Slack
// accepts.
func WithClient(id, secret string) Option {
	return func(c *config) { c.clientID, c.clientSecret = id, secret }
}

// WithAppID sets the app id reported in payloads and Socket Mode hello messages.
func WithAppID(id string) Option { return func(c *config) { c.appID = id } }

// WithClock injects the clock used for timestamps, trigger expiry and response_url
// expiry, so tests can move time instead of sleeping. It defaults to time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithTriggerTTL sets how long a trigger_id stays valid (Slack: 3 seconds).
func WithTriggerTTL(d time.Duration) Option { return func(c *config) { c.triggerTTL = d } }

// WithPingInterval sets how often the Socket Mode endpoint sends WebSocket pings.
// slack-go's client drops a connection that has seen no ping for 30 s by default.
func WithPingInterval(d time.Duration) Option { return func(c *config) { c.pingInterval = d } }

// WithInviteLimit sets how many user ids one conversations.invite call may carry.
func WithInviteLimit(n int) Option { return func(c *config) { c.inviteLimit = n } }

// WithBookmarkLimit sets how many bookmarks a channel may hold.
func WithBookmarkLimit(n int) Option { return func(c *config) { c.bookmarkLimit = n } }

// WithSeed seeds the random source behind FailFraction so that a run is repeatable.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithAddr makes the server listen on addr (for example "127.0.0.1:3001") instead of
// a random loopback port; the demo uses it to print a stable URL. New panics if the
// address cannot be bound, as httptest does.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithChatWritePublic lets the bot post to public channels it is not a member of,
// as a bot holding the chat:write.public scope can. Without it chat.postMessage
// returns not_in_channel.
func WithChatWritePublic() Option { return func(c *config) { c.publicWrite = true } }

// WithoutScope takes a scope from the bot token. The fake enforces im:history
// (without it conversations.history and conversations.replies of a direct
// message, a D… channel, answer missing_scope, as Slack does) and
// channels:join (conversations.join answers missing_scope).
func WithoutScope(scope string) Option {
	return func(c *config) {
		if c.withoutScope == nil {
			c.withoutScope = map[string]bool{}
		}
		c.withoutScope[scope] = true
	}
}

// Server is a fake Slack Web API with state. All methods are safe for concurrent use.
//
// The workspace (users, user groups, channels, messages, views, trigger ids,
// response_urls), with the methods that seed and read it, is the world it
// embeds; the other parts each embed one responsibility: the call log
// (recorder), fault injection and tier rate limits (faultInjector), modal
// views and trigger ids (modals), response_url endpoints (responder), Sign in
// with Slack (signIn) and Socket Mode (socketMode). The Web API methods are
// served by conversationsAPI, chatAPI, bookmarksAPI and directoryAPI
// (methods.go), and by modals, signIn and socketMode for their own.
type Server struct {
	world
	recorder
	faultInjector
	modals
	responder
	signIn
	socketMode

	http   *httptest.Server
	routes map[string]route
}

// world is the fake workspace. mu guards everything in it; the parts of the
// Server that act on it hold a pointer to it.
type world struct {
	cfg config

	mu           sync.Mutex
	seq          int
	lastTS       int64 // micro-seconds since the epoch of the newest message ts issued
	users        map[string]*User
	userOrder    []string
	groups       map[string]*UserGroup
	groupOrder   []string
	channels     map[string]*Channel
	channelOrder []string
	// channelByName and dmByUser index channels by name (the first created
	// with it) and the bot's direct messages by the other person, so a
	// lookup under mu does not walk every channel.
	channelByName map[string]string
	dmByUser      map[string]string
	messages      map[string][]*Message // per channel, ascending ts, replies included
	ephemerals    []Ephemeral
	triggers      map[string]*trigger
	views         map[string]*View
	viewOrder     []string
	responseURLs  map[string]*responseURL
	responses     []ResponsePost
	changed       chan struct{} // closed and replaced whenever a response post is recorded
}

// recorder is the log of Web API calls. callMu guards it on its own.
type recorder struct {
	callMu sync.Mutex
	calls  []Call
}

// faultInjector holds the injected faults and, when tiers is set, applies
// Slack's per-method rate-limit tiers.
type faultInjector struct {
	faults faults
	limits limiter
	tiers  bool
}

// modals serves views.open, views.push and views.update, issues trigger ids
// and applies the app's answers to view submissions.
type modals struct{ *world }

// responder issues response_urls and serves the posts made to them, under
// base, the fake's address.
type responder struct {
	*world
	base string
	// injected are the failures injected; response_url posts take those
	// queued for ResponseURLMethod, and the OnCall hook.
	injected *faults
}

// signIn is Sign in with Slack (OpenID Connect): the consent page, codes,
// tokens and the signing key.
type signIn struct {
	*world
	oidc oidcState
}

// socketMode is apps.connections.open and the Socket Mode WebSocket.
type socketMode struct {
	*world
	sock socketHub
}

// New starts a fake Slack server on a loopback port. Call Close when done.
func New(opts ...Option) *Server {
	cfg := config{
		botToken:      DefaultBotToken,
		appToken:      DefaultAppToken,
		teamID:        DefaultTeamID,
		teamDomain:    DefaultTeamDomain,
		teamName:      DefaultTeamName,
		botUserID:     DefaultBotUserID,
		botID:         DefaultBotID,
		botName:       DefaultBotName,
		appID:         DefaultAppID,
		clientID:      DefaultClientID,
		clientSecret:  DefaultClientSecret,
		triggerTTL:    DefaultTriggerTTL,
		pingInterval:  DefaultPingInterval,
		inviteLimit:   DefaultInviteLimit,
		bookmarkLimit: DefaultBookmarkLimit,
		now:           time.Now,
		seed:          1,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{world: world{
		cfg:           cfg,
		users:         map[string]*User{},
		groups:        map[string]*UserGroup{},
		channels:      map[string]*Channel{},
		channelByName: map[string]string{},
		dmByUser:      map[string]string{},
		messages:      map[string][]*Message{},
		triggers:      map[string]*trigger{},
		views:         map[string]*View{},
		responseURLs:  map[string]*responseURL{},
		changed:       make(chan struct{}),
	}}
	w := &s.world
	s.faultInjector.tiers = cfg.rateLimits
	s.modals = modals{w}
	s.signIn = signIn{world: w}
	s.socketMode = socketMode{world: w}
	s.routes = s.routeTable()
	s.faults.init(cfg.seed)
	s.sock.init()
	s.AddUser(User{ID: cfg.botUserID, Name: cfg.botName, RealName: cfg.botName, IsBot: true})

	s.http = httptest.NewUnstartedServer(s.Handler())
	if cfg.addr != "" {
		l, err := net.Listen("tcp", cfg.addr)
		if err != nil {
			panic(fmt.Sprintf("slackfake: listen on %s: %v", cfg.addr, err))
		}
		_ = s.http.Listener.Close()
		s.http.Listener = l
	}
	// The address httptest.Server.Start reports as its URL.
	s.responder = responder{world: w, base: "http://" + s.http.Listener.Addr().String(), injected: &s.faultInjector.faults}
	s.http.Start()
	return s
}

// Handler returns the fake's HTTP surface: /api/<method>, the response_url endpoints
// under /response/ and the Socket Mode WebSocket under /socket/. The Server already
// serves it; Handler exists for mounting the fake inside another server.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("/response/{id}", s.serveResponseURL)
	mux.HandleFunc("/socket/link", s.serveSocket)
	mux.HandleFunc("/openid/connect/authorize", s.serveAuthorize)
	mux.HandleFunc("GET /openid/connect/keys", s.serveKeys)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveDiscovery)
	return mux
}

// URL returns the Web API base URL, ending in "/api/", for slack.OptionAPIURL.
func (s *Server) URL() string { return s.http.URL + "/api/" }

// BaseURL returns the server's root URL without a trailing slash.
func (s *Server) BaseURL() string { return s.http.URL }

// Close closes the Socket Mode connections and shuts the server down.
func (s *Server) Close() {
	s.sock.closeAll()
	s.http.Close()
}

// BotToken returns the bot token the fake accepts.
func (s *Server) BotToken() string { return s.cfg.botToken }

// AppToken returns the app-level token the fake accepts for apps.connections.open.
func (s *Server) AppToken() string { return s.cfg.appToken }

// BotUserID returns the bot's user id.
func (s *Server) BotUserID() string { return s.cfg.botUserID }

// TeamID returns the workspace id.
func (s *Server) TeamID() string { return s.cfg.teamID }

// AppID returns the app id.
func (s *Server) AppID() string { return s.cfg.appID }

// Call is one recorded Web API call.
type Call struct {
	// Method is the Web API method name, e.g. "chat.postMessage".
	Method string
	// Args holds the decoded arguments: form fields as sent, or for a JSON body each
	// top-level field (strings as is, anything else as compact JSON).
	Args url.Values
	// JSON is true when the request body was JSON rather than a form.
	JSON bool
	// Body is the raw request body.
	Body []byte
	// Token is the token the call authenticated with (Authorization header or form field).
	Token string
	// Status is the HTTP status the fake answered with.
	Status int
	// Response is the response body (JSON for every non-5xx answer).
	Response []byte
	// Error is Slack's error code when the response had "ok": false.
	Error string
	// Time is when the call arrived, by the server's clock.
	Time time.Time
}

// OK reports whether the call succeeded with HTTP 200 and "ok": true.
func (c Call) OK() bool { return c.Status == http.StatusOK && c.Error == "" }

// Calls returns every recorded call, oldest first.
func (s *recorder) Calls() []Call {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the recorded calls to one method, oldest first.
func (s *recorder) CallsTo(method string) []Call {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the recorded calls. State (channels, messages, views...) and faults
// are kept; use ClearFaults for the latter.
func (s *recorder) Reset() {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	s.calls = nil
}

func (s *recorder) record(c Call) {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	s.calls = append(s.calls, c)
}

// apiRequest is one decoded Web API call as handlers see it.
type apiRequest struct {
	method string
	args   url.Values
	raw    map[string]json.RawMessage // top-level JSON fields, nil for form bodies
	token  string
	now    time.Time
	host   string // Host header, to build URLs that reach this server
}

func (r *apiRequest) str(key string) string { return r.args.Get(key) }

func (r *apiRequest) has(key string) bool { _, ok := r.args[key]; return ok }

func (r *apiRequest) boolean(key string) bool {
	switch strings.ToLower(r.args.Get(key)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// jsonArg returns a JSON-valued argument (blocks, view, attachments). Form bodies
// carry it as a JSON string; JSON bodies as a nested value or a JSON string.
func (r *apiRequest) jsonArg(key string) json.RawMessage {
	if raw, ok := r.raw[key]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return json.RawMessage(s)
		}
		return raw
	}
	if v := r.args.Get(key); v != "" {
		return json.RawMessage(v)
	}
	return nil
}

// result is a Web API response body.
type result map[string]any

func ok(fields result) result {
	out := result{"ok": true}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

func fail(code string) result { return result{"ok": false, "error": code} }

func failWithMessages(code string, messages []string) result {
	return result{"ok": false, "error": code, "response_metadata": map[string]any{"messages": messages}}
}

type handler func(*apiRequest) result

// tokenKind says which token a method wants.
type tokenKind int

const (
	botTokenKind tokenKind = iota
	appTokenKind
	// userTokenKind is a Sign in with Slack access token (xoxp-...).
	userTokenKind
	// noTokenKind methods authenticate with client credentials instead.
	noTokenKind
)

type route struct {
	h    handler
	kind tokenKind
}

// routeTable is the whole Web API surface of the fake.
func (s *Server) routeTable() map[string]route {
	w := &s.world
	conv, chat, bm, dir := &conversationsAPI{w}, &chatAPI{w}, &bookmarksAPI{w}, &directoryAPI{w}
	return map[string]route{
		"auth.test":                {h: dir.authTest},
		"openid.connect.token":     {h: s.signIn.openIDConnectToken, kind: noTokenKind},
		"openid.connect.userInfo":  {h: s.signIn.openIDConnectUserInfo, kind: userTokenKind},
		"apps.connections.open":    {h: s.socketMode.appsConnectionsOpen, kind: appTokenKind},
		"conversations.create":     {h: conv.conversationsCreate},
		"conversations.info":       {h: conv.conversationsInfo},
		"conversations.list":       {h: conv.conversationsList},
		"conversations.members":    {h: conv.conversationsMembers},
		"conversations.join":       {h: conv.conversationsJoin},
		"conversations.open":       {h: conv.conversationsOpen},
		"conversations.invite":     {h: conv.conversationsInvite},
		"conversations.kick":       {h: conv.conversationsKick},
		"conversations.setTopic":   {h: conv.conversationsSetTopic},
		"conversations.setPurpose": {h: conv.conversationsSetPurpose},
		"conversations.archive":    {h: conv.conversationsArchive},
		"conversations.history":    {h: conv.conversationsHistory},
		"conversations.replies":    {h: conv.conversationsReplies},
		"chat.postMessage":         {h: chat.chatPostMessage},
		"chat.postEphemeral":       {h: chat.chatPostEphemeral},
		"chat.update":              {h: chat.chatUpdate},
		"chat.delete":              {h: chat.chatDelete},
		"chat.getPermalink":        {h: chat.chatGetPermalink},
		"pins.add":                 {h: chat.pinsAdd},
		"pins.list":                {h: chat.pinsList},
		"bookmarks.add":            {h: bm.bookmarksAdd},
		"bookmarks.list":           {h: bm.bookmarksList},
		"reactions.add":            {h: chat.reactionsAdd},
		"users.info":               {h: dir.usersInfo},
		"users.conversations":      {h: conv.usersConversations},
		"users.list":               {h: dir.usersList},
		"users.lookupByEmail":      {h: dir.usersLookupByEmail},
		"usergroups.list":          {h: dir.usergroupsList},
		"usergroups.users.list":    {h: dir.usergroupsUsersList},
		"views.open":               {h: s.modals.viewsOpen},
		"views.push":               {h: s.modals.viewsPush},
		"views.update":             {h: s.modals.viewsUpdate},
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	call, req, err := s.readCall(r)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	fault := s.faults.pick(call)
	if wait := s.rateLimited(req.method, req.args.Get("channel"), call.Time); wait > 0 && fault.Status == 0 {
		fault.Status, fault.RetryAfter = http.StatusTooManyRequests, max(wait, time.Second)
	}
	if fault.Delay > 0 && !sleep(r.Context(), fault.Delay) {
		call.Status = 499 // client went away; nginx's code, for the record only
		s.record(call)
		return
	}
	if s.answerFault(w, &call, req, fault) {
		return
	}

	rt, found := s.routes[req.method]
	if !found {
		res := fail("unknown_method")
		res["req_method"] = req.method
		s.writeJSON(w, &call, http.StatusOK, res)
		return
	}
	if code := s.checkToken(req.token, rt.kind); code != "" {
		s.writeJSON(w, &call, http.StatusOK, fail(code))
		return
	}
	res := rt.h(req)
	s.writeJSON(w, &call, http.StatusOK, res)
}

// readCall decodes one Web API call: its method, arguments and token.
func (s *Server) readCall(r *http.Request) (Call, *apiRequest, error) {
	method := r.PathValue("method")
	call := Call{Method: method, Time: s.cfg.now(), Args: url.Values{}}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		return call, nil, err
	}
	call.Body = body
	req := &apiRequest{method: method, args: url.Values{}, now: call.Time, host: r.Host}
	decodeArgs(r, body, req)
	call.Args, call.JSON = req.args, req.raw != nil
	req.token = bearer(r.Header.Get("Authorization"))
	if req.token == "" {
		req.token = req.args.Get("token")
	}
	call.Token = req.token
	return call, req, nil
}

// sleep waits d, and reports false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// answerFault answers the call with the fault, when it has one that
// replaces the answer, and reports whether it did.
func (s *Server) answerFault(w http.ResponseWriter, call *Call, req *apiRequest, fault Fault) bool {
	switch {
	case fault.Status == http.StatusTooManyRequests:
		secs := retryAfterSecs(fault.RetryAfter)
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		s.writeJSON(w, call, http.StatusTooManyRequests, fail("ratelimited"))
	case fault.Status != 0 && fault.Status != http.StatusOK:
		if fault.AfterEffect {
			if rt, found := s.routes[req.method]; found && s.checkToken(req.token, rt.kind) == "" {
				rt.h(req)
			}
		}
		call.Status = fault.Status
		call.Response = []byte(fmt.Sprintf("<html><body>%d fake server error</body></html>", fault.Status))
		s.record(*call)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(fault.Status)
		_, _ = w.Write(call.Response)
	case fault.Error != "":
		s.writeJSON(w, call, http.StatusOK, fail(fault.Error))
	default:
		return false
	}
	return true
}

func (s *Server) checkToken(token string, want tokenKind) string {
	if want == noTokenKind {
		return ""
	}
	if s.oidc.userForToken(token) != "" {
		if want == userTokenKind {
			return ""
		}
		return "not_allowed_token_type"
	}
	switch {
	case token == "":
		return "not_authed"
	case want == botTokenKind && token == s.cfg.botToken:
		return ""
	case want == appTokenKind && token == s.cfg.appToken:
		return ""
	case token == s.cfg.botToken || token == s.cfg.appToken:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

func (s *Server) writeJSON(w http.ResponseWriter, call *Call, status int, res result) {
	b, err := json.Marshal(res)
	if err != nil {
		b = []byte(`{"ok":false,"error":"fatal_error"}`)
	}
	call.Status = status
	call.Response = b
	if res["ok"] != true {
		call.Error, _ = res["error"].(string)
	}
	s.record(*call)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func bearer(h string) string {
	if v, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// decodeArgs fills req.args (and req.raw for JSON) from the query string and body.
func decodeArgs(r *http.Request, body []byte, req *apiRequest) {
	for k, v := range r.URL.Query() {
		req.args[k] = append(req.args[k], v...)
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		raw := map[string]json.RawMessage{}
		if len(bytes.TrimSpace(body)) > 0 {
			_ = json.Unmarshal(body, &raw)
		}
		req.raw = raw
		for k, v := range raw {
			var s string
			if json.Unmarshal(v, &s) == nil {
				req.args.Set(k, s)
				continue
			}
			var buf bytes.Buffer
			if json.Compact(&buf, v) == nil {
				req.args.Set(k, buf.String())
			}
		}
	default:
		form, err := url.ParseQuery(string(body))
		if err == nil {
			for k, v := range form {
				req.args[k] = append(req.args[k], v...)
			}
		}
	}
}

// Fault is what the fake does instead of (or before) answering a call normally.
type Fault struct {
	// Delay is waited before answering; the call then proceeds unless another field is set.
	Delay time.Duration
	// Status, when not 0 or 200, is the HTTP status to answer with: 429 answers
	// {"ok":false,"error":"ratelimited"} with a Retry-After header, 5xx an HTML body.
	Status int
	// RetryAfter is sent in the Retry-After header (whole seconds) of a 429.
	RetryAfter time.Duration
	// Error, when Status is 0, answers HTTP 200 {"ok":false,"error":Error}.
	Error string
	// AfterEffect, with a 5xx Status, carries the call out (the message is
	// posted, the pin added ...) and only then answers Status: the
	// ambiguous failure a client cannot tell from one that did nothing.
	AfterEffect bool
}

// TookEffectThen returns a fault that carries the call out and then answers
// the given 5xx status.
func TookEffectThen(status int) *Fault { return &Fault{Status: status, AfterEffect: true} }

// RateLimited returns a 429 fault with a Retry-After header.
func RateLimited(retryAfter time.Duration) *Fault {
	return &Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// ServerError returns a fault answering with the given 5xx status.
func ServerError(status int) *Fault { return &Fault{Status: status} }

// SlackError returns a fault answering HTTP 200 with "ok": false and the given code.
func SlackError(code string) *Fault { return &Fault{Error: code} }

type countFault struct {
	remaining int
	fault     Fault
}

type fractionFault struct {
	fraction    float64
	status      int
	afterEffect bool
}

// faults holds the injected failures; keys are method names, "" meaning every method.
type faults struct {
	mu       sync.Mutex
	rng      *rand.Rand
	latency  map[string]time.Duration
	next     map[string][]*countFault
	fraction map[string]fractionFault
	hook     func(Call) *Fault
}

func (f *faults) init(seed uint64) {
	f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f.latency = map[string]time.Duration{}
	f.next = map[string][]*countFault{}
	f.fraction = map[string]fractionFault{}
}

// pick decides the fault for one call. Latency adds up with a fault's own delay.
func (f *faults) pick(c Call) Fault { return f.pickFrom(c, c.Method, "") }

// pickFrom decides the fault for one call from the faults queued under keys,
// in order, and the hook.
func (f *faults) pickFrom(c Call, keys ...string) Fault {
	f.mu.Lock()
	hook := f.hook
	var delay time.Duration
	for _, key := range keys {
		delay += f.latency[key]
	}
	var chosen *Fault
	for _, key := range keys {
		if chosen != nil {
			break
		}
		queue := f.next[key]
		if len(queue) > 0 {
			cf := queue[0]
			cf.remaining--
			if cf.remaining <= 0 {
				f.next[key] = queue[1:]
			}
			fc := cf.fault
			chosen = &fc
		}
	}
	for _, key := range keys {
		if chosen != nil {
			break
		}
		if ff, ok := f.fraction[key]; ok && f.rng.Float64() < ff.fraction {
			chosen = &Fault{Status: ff.status, AfterEffect: ff.afterEffect}
		}
	}
	f.mu.Unlock()

	// The hook runs unlocked so it may call back into the server.
	if hook != nil {
		if hf := hook(c); hf != nil {
			chosen = hf
		}
	}
	out := Fault{Delay: delay}
	if chosen != nil {
		out.Status, out.RetryAfter, out.Error, out.AfterEffect = chosen.Status, chosen.RetryAfter, chosen.Error, chosen.AfterEffect
		out.Delay += chosen.Delay
	}
	return out
}

// SetLatency delays every call to method by d; method "" applies to all methods
// (both add up). d = 0 removes the latency.
func (s *faultInjector) SetLatency(method string, d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if d == 0 {
		delete(s.faults.latency, method)
		return
	}
	s.faults.latency[method] = d
}

// FailNext answers the next n calls to method ("" for any method) with the HTTP
// status (e.g. 500, 503). Queued faults are consumed in order.
func (s *faultInjector) FailNext(method string, n, status int) {
	s.enqueue(method, n, Fault{Status: status})
}

// RateLimitNext answers the next n calls to method ("" for any) with 429 and a
// Retry-After header of retryAfter (rounded to whole seconds, as Slack sends).
func (s *faultInjector) RateLimitNext(method string, n int, retryAfter time.Duration) {
	s.enqueue(method, n, Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter})
}

// ErrorNext answers the next n calls to method ("" for any) with HTTP 200 and
// {"ok":false,"error":code}.
func (s *faultInjector) ErrorNext(method string, n int, code string) {
	s.enqueue(method, n, Fault{Error: code})
}

func (s *faultInjector) enqueue(method string, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.next[method] = append(s.faults.next[method], &countFault{remaining: n, fault: f})
}

// FailFraction answers a fraction (0..1) of the calls to method ("" for any) with the
// HTTP status. The choice comes from a random source seeded by WithSeed, so a given
// sequence of calls fails the same way on every run. fraction 0 removes the rule.
func (s *faultInjector) FailFraction(method string, fraction float64, status int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if fraction <= 0 {
		delete(s.faults.fraction, method)
		return
	}
	s.faults.fraction[method] = fractionFault{fraction: fraction, status: status}
}

// TookEffectFraction makes a fraction (0..1) of the calls to method ("" for
// any) take effect and then answer the HTTP status (a 5xx), as Slack does when
// it fails after doing the work. fraction 0 removes the rule.
func (s *faultInjector) TookEffectFraction(method string, fraction float64, status int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if fraction <= 0 {
		delete(s.faults.fraction, method)
		return
	}
	s.faults.fraction[method] = fractionFault{fraction: fraction, status: status, afterEffect: true}
}

// OnCall installs a hook that sees every call before it is handled (Method, Args,
// Token, Body and Time are set) and may return a Fault to apply, or nil to let the
// call through. It takes precedence over the queued and random faults. nil removes it.
func (s *faultInjector) OnCall(fn func(Call) *Fault) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.hook = fn
}

// ClearFaults removes every latency, queued fault, random fault and hook.
func (s *faultInjector) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.latency = map[string]time.Duration{}
	s.faults.next = map[string][]*countFault{}
	s.faults.fraction = map[string]fractionFault{}
	s.faults.hook = nil
}
