package slackfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// VerificationToken is the deprecated verification token the Driver puts in payloads,
// as Slack still does. Bots must not rely on it; they verify signatures.
const VerificationToken = "fake-verification-token"

// Driver plays Slack towards the bot: it delivers signed slash commands, interactions
// and events to the bot's HTTP endpoints, or pushes them over Socket Mode. It issues
// trigger ids and response_url endpoints on its Server so the bot's follow-up calls
// are checked like real ones. A Driver is safe for concurrent use.
type Driver struct {
	srv    *Server
	secret string
	client *http.Client
	now    func() time.Time
}

// DriverOption configures a Driver.
type DriverOption func(*Driver)

// WithHTTPClient sets the client used to reach the bot (default: a client with a 30 s timeout).
func WithHTTPClient(c *http.Client) DriverOption { return func(d *Driver) { d.client = c } }

// WithDriverClock sets the clock for request timestamps. It defaults to time.Now,
// not the Server's clock: bots check timestamps against the real time.
func WithDriverClock(now func() time.Time) DriverOption { return func(d *Driver) { d.now = now } }

// NewDriver returns a Driver signing with the app's signing secret.
func NewDriver(srv *Server, signingSecret string, opts ...DriverOption) *Driver {
	d := &Driver{srv: srv, secret: signingSecret, client: &http.Client{Timeout: 30 * time.Second}, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	return d
}

// RequestOption changes how one delivery is made, mostly to forge bad requests.
type RequestOption func(*requestOptions)

type requestOptions struct {
	wrongSecret bool
	stale       bool
	tamper      bool
	unsigned    bool
	retryNum    int
	retryReason string
	header      http.Header
}

// WrongSecret signs with a secret other than the app's.
func WrongSecret() RequestOption { return func(o *requestOptions) { o.wrongSecret = true } }

// StaleTimestamp signs with a timestamp six minutes old, outside Slack's 5-minute window.
func StaleTimestamp() RequestOption { return func(o *requestOptions) { o.stale = true } }

// TamperBody changes the body after signing it.
func TamperBody() RequestOption { return func(o *requestOptions) { o.tamper = true } }

// Unsigned sends no signature headers at all.
func Unsigned() RequestOption { return func(o *requestOptions) { o.unsigned = true } }

// Retry marks the delivery as Slack's retry number num for reason (e.g. "http_timeout"):
// X-Slack-Retry-Num / X-Slack-Retry-Reason over HTTP, retry_attempt / retry_reason
// over Socket Mode.
func Retry(num int, reason string) RequestOption {
	return func(o *requestOptions) { o.retryNum, o.retryReason = num, reason }
}

// WithRequestHeader adds a header to the HTTP request.
func WithRequestHeader(key, value string) RequestOption {
	return func(o *requestOptions) {
		if o.header == nil {
			o.header = http.Header{}
		}
		o.header.Add(key, value)
	}
}

func collect(opts []RequestOption) requestOptions {
	var o requestOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Reply is the bot's answer to one delivery.
type Reply struct {
	// StatusCode and Header are the HTTP answer; both are zero over Socket Mode.
	StatusCode int
	Header     http.Header
	// Body is the HTTP response body, or over Socket Mode the ack's payload.
	Body []byte
	// EnvelopeID is the Socket Mode envelope id ("" over HTTP).
	EnvelopeID string
	// TriggerID and ResponseURL are what the delivery carried ("" when none).
	TriggerID   string
	ResponseURL string
	// ViewAckProblem, for a view_submission, says why Slack would refuse the bot's
	// answer (unknown response_action, invalid view, errors naming non-input
	// blocks...); "" when the answer was fine. The answer has been applied to the
	// Server's views either way, where it could be.
	ViewAckProblem string
	// MessageProblem, for a slash command, says why Slack would not show the bot's
	// immediate answer, a message payload held to chat.postMessage's rules
	// (msg_too_long, or invalid_blocks with the details); "" when it is fine or empty.
	MessageProblem string
}

// messageProblem checks a slash command's immediate answer as Slack checks a
// message: an empty body is a plain acknowledgement.
func messageProblem(body []byte) string {
	if isJSONNull(body) {
		return ""
	}
	var m struct {
		Text        string          `json:"text"`
		Blocks      json.RawMessage `json:"blocks"`
		Attachments json.RawMessage `json:"attachments"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return "invalid_payload"
	}
	code, msgs := validateMessage(m.Text, m.Blocks, m.Attachments)
	if code == "" {
		return ""
	}
	return strings.TrimSpace(code + " " + strings.Join(msgs, "; "))
}

// JSON decodes the reply body into v.
func (r *Reply) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode reply body %q: %w", r.Body, err)
	}
	return nil
}

// Signature computes Slack's v0 request signature ("v0=<hex>") over
// "v0:<timestamp>:<body>" keyed with the signing secret.
func Signature(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", timestamp)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Sign sets X-Slack-Request-Timestamp (now) and X-Slack-Signature for body on h.
func (d *Driver) Sign(h http.Header, body []byte) {
	ts := d.now().Unix()
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Slack-Signature", Signature(d.secret, ts, body))
}

func (d *Driver) post(ctx context.Context, target, contentType string, body []byte, o requestOptions) (*Reply, error) {
	ts := d.now()
	if o.stale {
		ts = ts.Add(-6 * time.Minute)
	}
	secret := d.secret
	if o.wrongSecret {
		secret += "-but-wrong"
	}
	sig := Signature(secret, ts.Unix(), body)
	sent := body
	if o.tamper {
		sent = append(bytes.Clone(body), []byte("&tampered=1")...)
		if contentType == "application/json" {
			sent = append(bytes.Clone(body), ' ', '\n')
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(sent))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	if !o.unsigned {
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
		req.Header.Set("X-Slack-Signature", sig)
	}
	if o.retryNum > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(o.retryNum))
		req.Header.Set("X-Slack-Retry-Reason", o.retryReason)
	}
	for k, vs := range o.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post to bot: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read bot reply: %w", err)
	}
	return &Reply{StatusCode: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// prepareSlash fills what Slack fills in a slash command: team, app, names, and a
// fresh trigger_id and response_url when the caller left them empty.
func (d *Driver) prepareSlash(cmd slack.SlashCommand) slack.SlashCommand {
	s := d.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if cmd.Token == "" {
		cmd.Token = VerificationToken
	}
	if cmd.TeamID == "" {
		cmd.TeamID, cmd.TeamDomain = s.cfg.teamID, s.cfg.teamDomain
	}
	if cmd.APIAppID == "" {
		cmd.APIAppID = s.cfg.appID
	}
	if u := s.users[cmd.UserID]; u != nil && cmd.UserName == "" {
		cmd.UserName = u.Name
	}
	if ch := s.channels[cmd.ChannelID]; ch != nil && cmd.ChannelName == "" {
		cmd.ChannelName = ch.Name
	}
	if cmd.TriggerID == "" {
		cmd.TriggerID = s.newTriggerLocked(cmd.UserID, "", 0)
	}
	if cmd.ResponseURL == "" {
		cmd.ResponseURL = s.newResponseURLLocked(cmd.ChannelID, cmd.UserID, "", "", cmd.TriggerID)
	}
	return cmd
}

func slashForm(c slack.SlashCommand) url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("token", c.Token)
	set("team_id", c.TeamID)
	set("team_domain", c.TeamDomain)
	set("enterprise_id", c.EnterpriseID)
	set("enterprise_name", c.EnterpriseName)
	set("channel_id", c.ChannelID)
	set("channel_name", c.ChannelName)
	set("user_id", c.UserID)
	set("user_name", c.UserName)
	set("command", c.Command)
	v.Set("text", c.Text)
	set("response_url", c.ResponseURL)
	set("trigger_id", c.TriggerID)
	set("api_app_id", c.APIAppID)
	v.Set("is_enterprise_install", strconv.FormatBool(c.IsEnterpriseInstall))
	return v
}

// SlashCommand posts a signed slash command to the bot's url, form-encoded as Slack
// sends it. Empty fields of cmd are filled (team, app, user and channel names, a
// fresh trigger_id and response_url); the Reply says which were used.
func (d *Driver) SlashCommand(ctx context.Context, target string, cmd slack.SlashCommand, opts ...RequestOption) (*Reply, error) {
	cmd = d.prepareSlash(cmd)
	reply, err := d.post(ctx, target, "application/x-www-form-urlencoded", []byte(slashForm(cmd).Encode()), collect(opts))
	if err != nil {
		return nil, fmt.Errorf("slash command %s: %w", cmd.Command, err)
	}
	reply.TriggerID, reply.ResponseURL = cmd.TriggerID, cmd.ResponseURL
	if reply.StatusCode == http.StatusOK {
		reply.MessageProblem = messageProblem(reply.Body)
	}
	return reply, nil
}

// SocketSlashCommand pushes a slash command over Socket Mode and waits for the ack;
// Reply.Body is the ack's payload (the bot's immediate reply, if any).
func (d *Driver) SocketSlashCommand(ctx context.Context, cmd slack.SlashCommand, opts ...RequestOption) (*Reply, error) {
	cmd = d.prepareSlash(cmd)
	payload, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode slash command: %w", err)
	}
	o := collect(opts)
	ack, err := d.srv.push(ctx, envelope{
		Type: "slash_commands", Payload: payload, AcceptsResponsePayload: true,
		RetryAttempt: o.retryNum, RetryReason: o.retryReason,
	})
	if err != nil {
		return nil, fmt.Errorf("slash command %s: %w", cmd.Command, err)
	}
	return &Reply{Body: ack.Payload, EnvelopeID: ack.EnvelopeID, TriggerID: cmd.TriggerID, ResponseURL: cmd.ResponseURL,
		MessageProblem: messageProblem(ack.Payload)}, nil
}

// interaction is a normalised interaction payload ready to send.
type interaction struct {
	body        []byte
	kind        string
	viewID      string
	triggerID   string
	responseURL string
}

// prepareInteraction accepts a *slack.InteractionCallback, a slack.InteractionCallback,
// a map or raw JSON, and fills what Slack fills: team, app, token, user name, a
// trigger_id (tied to the view it came from), and for block_actions on a message a
// response_url tied to that message.
func (d *Driver) prepareInteraction(payload any) (interaction, error) {
	m, err := interactionObject(payload)
	if err != nil {
		return interaction{}, err
	}
	in := interaction{kind: str(m, "type")}
	d.fillInteraction(m, &in)
	in.body, err = json.Marshal(m)
	if err != nil {
		return interaction{}, fmt.Errorf("encode interaction payload: %w", err)
	}
	return in, nil
}

// interactionObject decodes an interaction payload given as a callback, a
// map or raw JSON into a JSON object.
func interactionObject(payload any) (map[string]any, error) {
	var raw []byte
	var err error
	switch p := payload.(type) {
	case slack.InteractionCallback:
		raw, err = json.Marshal(&p)
	case []byte:
		raw = p
	case json.RawMessage:
		raw = p
	default:
		raw, err = json.Marshal(p)
	}
	if err != nil {
		return nil, fmt.Errorf("encode interaction payload: %w", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("interaction payload is not a JSON object: %w", err)
	}
	return m, nil
}

// fillInteraction fills in m what Slack fills and records in in the view,
// trigger_id and response_url the delivery carries.
func (d *Driver) fillInteraction(m map[string]any, in *interaction) {
	s := d.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if team := obj(m, "team"); team == nil || str(team, "id") == "" {
		m["team"] = map[string]any{"id": s.cfg.teamID, "domain": s.cfg.teamDomain}
	}
	if str(m, "api_app_id") == "" {
		m["api_app_id"] = s.cfg.appID
	}
	if str(m, "token") == "" {
		m["token"] = VerificationToken
	}
	user := obj(m, "user")
	userID := str(user, "id")
	if u := s.users[userID]; u != nil && str(user, "username") == "" {
		user["username"], user["name"], user["team_id"] = u.Name, u.Name, firstNonEmpty(u.TeamID, s.cfg.teamID)
	}
	container := obj(m, "container")
	in.viewID = firstNonEmpty(str(obj(m, "view"), "id"), str(container, "view_id"))
	in.triggerID = str(m, "trigger_id")
	if in.triggerID == "" {
		in.triggerID = s.newTriggerLocked(userID, in.viewID, 0)
		m["trigger_id"] = in.triggerID
	}
	in.responseURL = str(m, "response_url")
	if in.responseURL == "" && in.kind == "block_actions" && str(container, "type") == "message" {
		channelID := firstNonEmpty(str(container, "channel_id"), str(obj(m, "channel"), "id"))
		messageTS := firstNonEmpty(str(container, "message_ts"), str(obj(m, "message"), "ts"))
		in.responseURL = s.newResponseURLLocked(channelID, userID, messageTS, str(container, "thread_ts"), in.triggerID)
		m["response_url"] = in.responseURL
	}
}

// Interaction posts a signed interaction (block_actions, view_submission...) to the
// bot's url as Slack does: form-encoded with a single "payload" field holding JSON.
// For a view_submission the bot's answer is applied to the Server's views (see
// Reply.ViewAckProblem).
func (d *Driver) Interaction(ctx context.Context, target string, payload any, opts ...RequestOption) (*Reply, error) {
	in, err := d.prepareInteraction(payload)
	if err != nil {
		return nil, err
	}
	form := url.Values{"payload": {string(in.body)}}
	reply, err := d.post(ctx, target, "application/x-www-form-urlencoded", []byte(form.Encode()), collect(opts))
	if err != nil {
		return nil, fmt.Errorf("interaction %s: %w", in.kind, err)
	}
	reply.TriggerID, reply.ResponseURL = in.triggerID, in.responseURL
	if in.kind == "view_submission" && reply.StatusCode == http.StatusOK {
		reply.ViewAckProblem = d.srv.applyViewSubmissionAck(in.viewID, reply.Body)
	}
	return reply, nil
}

// SocketInteraction pushes an interaction over Socket Mode and waits for the ack.
// Reply.Body is the ack payload; for a view_submission it is applied to the views.
func (d *Driver) SocketInteraction(ctx context.Context, payload any, opts ...RequestOption) (*Reply, error) {
	in, err := d.prepareInteraction(payload)
	if err != nil {
		return nil, err
	}
	o := collect(opts)
	accepts := in.kind == "view_submission" || in.kind == "block_suggestion"
	ack, err := d.srv.push(ctx, envelope{
		Type: "interactive", Payload: in.body, AcceptsResponsePayload: accepts,
		RetryAttempt: o.retryNum, RetryReason: o.retryReason,
	})
	if err != nil {
		return nil, fmt.Errorf("interaction %s: %w", in.kind, err)
	}
	reply := &Reply{Body: ack.Payload, EnvelopeID: ack.EnvelopeID, TriggerID: in.triggerID, ResponseURL: in.responseURL}
	if in.kind == "view_submission" {
		reply.ViewAckProblem = d.srv.applyViewSubmissionAck(in.viewID, ack.Payload)
	}
	return reply, nil
}

// eventEnvelope wraps an inner event in Slack's event_callback envelope. An empty
// eventID gets a fresh one.
func (d *Driver) eventEnvelope(inner any, eventID string) ([]byte, error) {
	var innerRaw json.RawMessage
	switch e := inner.(type) {
	case []byte:
		innerRaw = e
	case json.RawMessage:
		innerRaw = e
	default:
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode inner event: %w", err)
		}
		innerRaw = b
	}
	s := d.srv
	s.mu.Lock()
	if eventID == "" {
		eventID = s.nextID("Ev")
	}
	s.mu.Unlock()
	env := map[string]any{
		"token":      VerificationToken,
		"team_id":    s.cfg.teamID,
		"api_app_id": s.cfg.appID,
		"event":      innerRaw,
		"type":       "event_callback",
		"event_id":   eventID,
		"event_time": d.now().Unix(),
		"authorizations": []map[string]any{{
			"enterprise_id": nil, "team_id": s.cfg.teamID, "user_id": s.cfg.botUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-fake-" + eventID,
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode event envelope: %w", err)
	}
	return b, nil
}

// Event posts a signed Events API callback (JSON) wrapping inner (a slackevents
// struct, a map or raw JSON) to the bot's url. Use Retry to mark a redelivery.
func (d *Driver) Event(ctx context.Context, target string, inner any, eventID string, opts ...RequestOption) (*Reply, error) {
	body, err := d.eventEnvelope(inner, eventID)
	if err != nil {
		return nil, err
	}
	reply, err := d.post(ctx, target, "application/json", body, collect(opts))
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", eventID, err)
	}
	return reply, nil
}

// SocketEvent pushes an Events API callback over Socket Mode and waits for the ack.
func (d *Driver) SocketEvent(ctx context.Context, inner any, eventID string, opts ...RequestOption) (*Reply, error) {
	body, err := d.eventEnvelope(inner, eventID)
	if err != nil {
		return nil, err
	}
	o := collect(opts)
	ack, err := d.srv.push(ctx, envelope{
		Type: "events_api", Payload: body, RetryAttempt: o.retryNum, RetryReason: o.retryReason,
	})
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", eventID, err)
	}
	return &Reply{Body: ack.Payload, EnvelopeID: ack.EnvelopeID}, nil
}

// URLVerification posts Slack's url_verification challenge; the bot must echo it.
func (d *Driver) URLVerification(ctx context.Context, target, challenge string, opts ...RequestOption) (*Reply, error) {
	body, err := json.Marshal(map[string]string{"token": VerificationToken, "challenge": challenge, "type": "url_verification"})
	if err != nil {
		return nil, fmt.Errorf("encode url_verification: %w", err)
	}
	reply, err := d.post(ctx, target, "application/json", body, collect(opts))
	if err != nil {
		return nil, fmt.Errorf("url_verification: %w", err)
	}
	return reply, nil
}

// BlockActions builds a block_actions payload for actions (button clicks, menu
// choices) on a message the bot posted. The Driver fills trigger_id and response_url.
func BlockActions(userID, channelID, messageTS string, actions ...*slack.BlockAction) *slack.InteractionCallback {
	ic := &slack.InteractionCallback{Type: slack.InteractionTypeBlockActions}
	ic.User.ID = userID
	ic.Channel.ID = channelID
	ic.Message.Timestamp = messageTS
	ic.Container = slack.Container{Type: "message", MessageTs: messageTS, ChannelID: channelID}
	ic.ActionCallback.BlockActions = actions
	return ic
}

// ViewBlockActions builds a block_actions payload for actions inside an open modal.
// A trigger_id issued for it lets the bot push onto that modal's stack.
func ViewBlockActions(userID string, v View, actions ...*slack.BlockAction) (*slack.InteractionCallback, error) {
	var view slack.View
	if err := json.Unmarshal(v.JSON, &view); err != nil {
		return nil, fmt.Errorf("decode view %s: %w", v.ID, err)
	}
	ic := &slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, View: view}
	ic.User.ID = userID
	ic.Container = slack.Container{Type: "view", ViewID: v.ID}
	ic.ActionCallback.BlockActions = actions
	return ic, nil
}

// ViewSubmission builds a view_submission payload for a view the bot opened (get it
// with Server.View), with the user's input: values[block_id][action_id].
func ViewSubmission(userID string, v View, values map[string]map[string]slack.BlockAction) (*slack.InteractionCallback, error) {
	var view slack.View
	if err := json.Unmarshal(v.JSON, &view); err != nil {
		return nil, fmt.Errorf("decode view %s: %w", v.ID, err)
	}
	if values == nil {
		values = map[string]map[string]slack.BlockAction{}
	}
	view.State = &slack.ViewState{Values: values}
	ic := &slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, View: view}
	ic.User.ID = userID
	ic.ViewSubmissionCallback.Hash = v.Hash
	return ic, nil
}
