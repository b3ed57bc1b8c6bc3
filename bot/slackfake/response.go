package slackfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"time"
)

// Response URL rules, from Slack's docs: five posts within thirty minutes.
const (
	ResponseURLMaxUses  = 5
	ResponseURLLifetime = 30 * time.Minute
)

// ResponseURLMethod is the name response_url posts go by in fault injection:
// FailNext, RateLimitNext, ErrorNext, FailFraction, TookEffectFraction and
// SetLatency under this name, and OnCall hooks (which see a Call with this
// Method and the post's Body), apply to them. Faults for every method ("")
// do not: a response_url is not a Web API method.
const ResponseURLMethod = "response_url"

type trigger struct {
	id      string
	userID  string
	viewID  string // the view the interaction came from, for views.push
	expires time.Time
	used    bool
}

// NewTriggerID issues a trigger_id valid for ttl (the server's default, 3 s, when
// ttl is 0). views.open accepts it once.
func (s *modals) NewTriggerID(ttl time.Duration) string {
	return s.NewTriggerIDFor("", "", ttl)
}

// NewTriggerIDFor issues a trigger_id for a user; viewID, when set, names the view
// the interaction came from, whose stack views.push will push onto.
func (s *modals) NewTriggerIDFor(userID, viewID string, ttl time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newTriggerLocked(userID, viewID, ttl)
}

func (s *modals) newTriggerLocked(userID, viewID string, ttl time.Duration) string {
	if ttl <= 0 {
		ttl = s.cfg.triggerTTL
	}
	s.seq++
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", s.cfg.teamID, s.seq)
	id := fmt.Sprintf("%d.%d.%016x", 1000000+s.seq, 4242424242, h.Sum64())
	s.triggers[id] = &trigger{id: id, userID: userID, viewID: viewID, expires: s.cfg.now().Add(ttl)}
	return id
}

// checkTrigger returns the error code views.open/push give for a trigger_id, or "".
func (s *modals) checkTrigger(id string, now time.Time) (*trigger, string) {
	t, ok := s.triggers[id]
	switch {
	case !ok:
		return nil, "invalid_trigger_id"
	case t.used:
		return nil, "exchanged_trigger_id"
	case now.After(t.expires):
		return nil, "expired_trigger_id"
	}
	return t, ""
}

type responseURL struct {
	id        string
	channelID string
	userID    string
	messageTS string // the message an interaction came from, for replace/delete_original
	threadTS  string
	triggerID string
	created   time.Time
	uses      int
}

// NewResponseURL issues a response_url for a channel and user, as Slack sends with a
// slash command. The Driver issues one per delivery; call this when building
// payloads by hand.
func (s *responder) NewResponseURL(channelID, userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newResponseURLLocked(channelID, userID, "", "", "")
}

func (s *responder) newResponseURLLocked(channelID, userID, messageTS, threadTS, triggerID string) string {
	s.seq++
	h := fnv.New64a()
	fmt.Fprintf(h, "resp/%d", s.seq)
	id := fmt.Sprintf("%s%016x", s.cfg.teamID, h.Sum64())
	s.responseURLs[id] = &responseURL{
		id: id, channelID: channelID, userID: userID, messageTS: messageTS, threadTS: threadTS,
		triggerID: triggerID, created: s.cfg.now(),
	}
	return s.base + "/response/" + id
}

// ResponsePost is one post the bot made to a response_url.
type ResponsePost struct {
	URL       string
	TriggerID string // the trigger_id delivered together with this response_url
	// Status is the HTTP status the fake answered; Error the code when it refused
	// ("used_url", "expired_url", "invalid_payload", "invalid_blocks"...).
	Status          int
	Error           string
	Body            json.RawMessage
	Text            string
	Blocks          json.RawMessage
	ResponseType    string // "in_channel" or "ephemeral" ("" means ephemeral)
	ReplaceOriginal bool
	DeleteOriginal  bool
	ThreadTS        string
	Time            time.Time
}

type responseBody struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

// serveResponseURL accepts the bot's posts to a response_url. Slack's documented
// rules apply: JSON bodies only, five uses within thirty minutes. Refusals answer
// 404 with a JSON {"ok":false,"error":"used_url"|"expired_url"} body; Slack's exact
// status for them is not documented.
func (s *responder) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	now := s.cfg.now()
	post := ResponsePost{URL: s.base + "/response/" + id, Body: body, Time: now}

	reply := func(status int, code string, messages []string) {
		post.Status, post.Error = status, code
		s.mu.Lock()
		s.responses = append(s.responses, post)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		res := result{"ok": code == ""}
		if code != "" {
			res["error"] = code
		}
		if len(messages) > 0 {
			res["response_metadata"] = map[string]any{"messages": messages}
		}
		b, _ := json.Marshal(res)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}

	if r.Method != http.MethodPost {
		reply(http.StatusMethodNotAllowed, "invalid_method", nil)
		return
	}
	fault := s.injected.pickFrom(Call{Method: ResponseURLMethod, Body: body, Time: now}, ResponseURLMethod)
	if fault.Delay > 0 && !sleep(r.Context(), fault.Delay) {
		return
	}
	// failed answers a 5xx as Slack's front end does, with an HTML body.
	failed := func(status int) {
		post.Status = status
		s.mu.Lock()
		s.responses = append(s.responses, post)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "<html><body>%d fake server error</body></html>", status)
	}
	switch {
	case fault.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", fmt.Sprint(retryAfterSecs(fault.RetryAfter)))
		reply(http.StatusTooManyRequests, "ratelimited", nil)
		return
	case fault.Status != 0 && fault.Status != http.StatusOK && !fault.AfterEffect:
		failed(fault.Status)
		return
	case fault.Status == 0 && fault.Error != "":
		reply(http.StatusNotFound, fault.Error, nil)
		return
	}

	s.mu.Lock()
	ru, found := s.responseURLs[id]
	var code string
	switch {
	case !found:
		code = "expired_url"
	case now.Sub(ru.created) > ResponseURLLifetime:
		code = "expired_url"
	case ru.uses >= ResponseURLMaxUses:
		code = "used_url"
	}
	if found {
		post.TriggerID = ru.triggerID
	}
	s.mu.Unlock()
	if code != "" {
		reply(http.StatusNotFound, code, nil)
		return
	}

	var rb responseBody
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
		json.Unmarshal(body, &rb) != nil {
		reply(http.StatusBadRequest, "invalid_payload", nil)
		return
	}
	if isJSONNull(rb.Blocks) {
		rb.Blocks = nil
	}
	post.Text, post.Blocks, post.ResponseType = rb.Text, rb.Blocks, rb.ResponseType
	post.ReplaceOriginal, post.DeleteOriginal, post.ThreadTS = rb.ReplaceOriginal, rb.DeleteOriginal, rb.ThreadTS
	if !rb.DeleteOriginal {
		if code, msgs := validateMessage(rb.Text, rb.Blocks, nil); code != "" {
			reply(http.StatusOK, code, msgs)
			return
		}
	}

	s.mu.Lock()
	ru.uses++
	s.applyResponsePost(ru, rb)
	s.mu.Unlock()
	if fault.AfterEffect && fault.Status != 0 && fault.Status != http.StatusOK {
		// Carried out, then answered with the fault's status: the
		// ambiguous failure a client cannot tell from one that did nothing.
		failed(fault.Status)
		return
	}
	reply(http.StatusOK, "", nil)
}

// applyResponsePost makes a response_url post visible the way Slack would.
func (s *responder) applyResponsePost(ru *responseURL, rb responseBody) {
	switch {
	case rb.DeleteOriginal && ru.messageTS != "":
		s.deleteMessage(ru.channelID, ru.messageTS)
	case rb.ReplaceOriginal && ru.messageTS != "":
		if m := s.findMessage(ru.channelID, ru.messageTS); m != nil {
			m.Text, m.Blocks = rb.Text, bytes.Clone(rb.Blocks)
			m.EditedTS = s.nextTS()
		}
	case rb.ResponseType == "in_channel":
		thread := rb.ThreadTS
		if thread == "" {
			thread = ru.threadTS
		}
		m := &Message{
			Channel: ru.channelID, TS: s.nextTS(), ThreadTS: thread, User: s.cfg.botUserID,
			BotID: s.cfg.botID, Text: rb.Text, Blocks: bytes.Clone(rb.Blocks),
		}
		if _, ok := s.channels[ru.channelID]; ok {
			s.insertMessage(m)
		}
	default:
		s.ephemerals = append(s.ephemerals, Ephemeral{
			Channel: ru.channelID, User: ru.userID, TS: s.nextTS(), ThreadTS: rb.ThreadTS,
			Text: rb.Text, Blocks: bytes.Clone(rb.Blocks), Via: "response_url",
		})
	}
}

// ResponsePosts returns the posts made to one response_url, oldest first, refused
// ones included (see ResponsePost.Error).
func (s *responder) ResponsePosts(responseURL string) []ResponsePost {
	return s.filterResponses(func(p ResponsePost) bool { return p.URL == responseURL })
}

// ResponsePostsForTrigger returns the response_url posts tied to the delivery that
// carried triggerID (slash command or interaction), oldest first.
func (s *responder) ResponsePostsForTrigger(triggerID string) []ResponsePost {
	return s.filterResponses(func(p ResponsePost) bool { return p.TriggerID == triggerID })
}

// AllResponsePosts returns every response_url post, oldest first.
func (s *responder) AllResponsePosts() []ResponsePost {
	return s.filterResponses(func(ResponsePost) bool { return true })
}

func (s *responder) filterResponses(keep func(ResponsePost) bool) []ResponsePost {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ResponsePost
	for _, p := range s.responses {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// WaitResponsePosts waits until at least n posts were made to responseURL (the bot
// often answers asynchronously) and returns them, or fails when ctx is done.
func (s *responder) WaitResponsePosts(ctx context.Context, responseURL string, n int) ([]ResponsePost, error) {
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		posts := s.ResponsePosts(responseURL)
		if len(posts) >= n {
			return posts, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return posts, fmt.Errorf("wait for %d response_url posts (got %d): %w", n, len(posts), ctx.Err())
		}
	}
}
