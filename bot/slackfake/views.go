package slackfake

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// MaxViewStack is how many views a modal stack holds (Slack: "up to 3 views at a time").
const MaxViewStack = 3

func (s *modals) viewsOpen(r *apiRequest) result {
	triggerID := firstNonEmpty(r.str("trigger_id"), r.str("interactivity_pointer"))
	raw := r.jsonArg("view")
	s.mu.Lock()
	defer s.mu.Unlock()
	t, code := s.checkTrigger(triggerID, r.now)
	if code != "" {
		return fail(code)
	}
	view, code, msgs := validateView(raw)
	if code != "" {
		return failWithMessages(code, msgs)
	}
	if s.externalIDTaken(str(view, "external_id"), "") {
		return fail("duplicate_external_id")
	}
	t.used = true
	v := s.newViewLocked(view, "", "", t.userID)
	return ok(result{"view": json.RawMessage(v.JSON)})
}

// viewsPush pushes onto the stack of the view the trigger came from. A trigger
// without a view (e.g. from a slash command) pushes onto the newest open stack,
// and fails with not_found when no modal is open.
func (s *modals) viewsPush(r *apiRequest) result {
	triggerID := firstNonEmpty(r.str("trigger_id"), r.str("interactivity_pointer"))
	raw := r.jsonArg("view")
	s.mu.Lock()
	defer s.mu.Unlock()
	t, code := s.checkTrigger(triggerID, r.now)
	if code != "" {
		return fail(code)
	}
	view, code, msgs := validateView(raw)
	if code != "" {
		return failWithMessages(code, msgs)
	}
	root := s.stackRootFor(t.viewID)
	if root == "" {
		return fail("not_found")
	}
	stack := s.openStack(root)
	if len(stack) >= MaxViewStack {
		return fail("push_limit_reached")
	}
	if s.externalIDTaken(str(view, "external_id"), "") {
		return fail("duplicate_external_id")
	}
	t.used = true
	v := s.newViewLocked(view, root, stack[len(stack)-1].ID, t.userID)
	return ok(result{"view": json.RawMessage(v.JSON)})
}

func (s *modals) viewsUpdate(r *apiRequest) result {
	raw := r.jsonArg("view")
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.views[r.str("view_id")]
	if v == nil && r.str("external_id") != "" {
		for _, id := range s.viewOrder {
			if s.views[id].ExternalID == r.str("external_id") {
				v = s.views[id]
			}
		}
	}
	if v == nil || !v.Open {
		return fail("not_found")
	}
	if h := r.str("hash"); h != "" && h != v.Hash {
		return fail("hash_conflict")
	}
	view, code, msgs := validateView(raw)
	if code != "" {
		return failWithMessages(code, msgs)
	}
	if s.externalIDTaken(str(view, "external_id"), v.ID) {
		return fail("duplicate_external_id")
	}
	s.setViewLocked(v, view)
	return ok(result{"view": json.RawMessage(v.JSON)})
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func (s *modals) externalIDTaken(ext, exceptViewID string) bool {
	if ext == "" {
		return false
	}
	for _, v := range s.views {
		if v.ExternalID == ext && v.ID != exceptViewID && v.Open {
			return true
		}
	}
	return false
}

// stackRootFor returns the root of the open stack a view belongs to, or of the newest
// open stack when viewID is empty.
func (s *modals) stackRootFor(viewID string) string {
	if viewID != "" {
		v := s.views[viewID]
		if v == nil || !v.Open {
			return ""
		}
		return v.RootViewID
	}
	for i := len(s.viewOrder) - 1; i >= 0; i-- {
		if v := s.views[s.viewOrder[i]]; v.Open {
			return v.RootViewID
		}
	}
	return ""
}

// openStack returns the open views of a stack, bottom first.
func (s *modals) openStack(root string) []*View {
	var out []*View
	for _, id := range s.viewOrder {
		if v := s.views[id]; v.Open && v.RootViewID == root {
			out = append(out, v)
		}
	}
	return out
}

func (s *modals) newViewLocked(view map[string]any, root, previous, userID string) *View {
	v := &View{ID: s.nextID("V"), PreviousViewID: previous, UserID: userID, Open: true}
	v.RootViewID = root
	if root == "" {
		v.RootViewID = v.ID
	}
	s.views[v.ID] = v
	s.viewOrder = append(s.viewOrder, v.ID)
	s.setViewLocked(v, view)
	return v
}

// setViewLocked stores a new definition for v, with the fields Slack adds to a view.
func (s *modals) setViewLocked(v *View, view map[string]any) {
	s.seq++
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", v.ID, s.seq)
	v.Hash = fmt.Sprintf("%d.%08x", s.cfg.now().Unix(), h.Sum32())
	v.ExternalID, v.CallbackID = str(view, "external_id"), str(view, "callback_id")
	v.PrivateMetadata = str(view, "private_metadata")
	v.Title, _ = textOf(view, "title")
	v.Errors, v.ErrorKeysNotInput = nil, nil

	out := make(map[string]any, len(view)+10)
	for k, val := range view {
		out[k] = val
	}
	out["id"] = v.ID
	out["team_id"] = s.cfg.teamID
	out["app_id"] = s.cfg.appID
	out["bot_id"] = s.cfg.botID
	out["app_installed_team_id"] = s.cfg.teamID
	out["hash"] = v.Hash
	out["root_view_id"] = v.RootViewID
	out["previous_view_id"] = nilIfEmpty(v.PreviousViewID)
	out["state"] = map[string]any{"values": map[string]any{}}
	for _, k := range []string{"private_metadata", "callback_id", "external_id"} {
		if _, present := out[k]; !present {
			out[k] = ""
		}
	}
	for _, k := range []string{"clear_on_close", "notify_on_close"} {
		if _, present := out[k]; !present {
			out[k] = false
		}
	}
	v.JSON, _ = json.Marshal(out)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// viewResponse is what an app answers to a view_submission.
type viewResponse struct {
	ResponseAction string            `json:"response_action"`
	View           json.RawMessage   `json:"view"`
	Errors         map[string]string `json:"errors"`
}

// applyViewSubmissionAck makes the app's answer to a view_submission take effect, as
// Slack does: an empty answer closes the submitted view, "clear" closes the whole
// stack, "update" replaces the view, "push" pushes a new one, "errors" keeps the view
// open with the errors shown. It returns a description of what went wrong when the
// answer would be refused by Slack, or "".
func (s *modals) applyViewSubmissionAck(viewID string, body []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.views[viewID]
	if v == nil || !v.Open {
		return ""
	}
	var resp viewResponse
	if len(strings.TrimSpace(string(body))) == 0 || json.Unmarshal(body, &resp) != nil || resp.ResponseAction == "" {
		s.closeViewLocked(v)
		return ""
	}
	switch resp.ResponseAction {
	case "clear":
		for _, sv := range s.openStack(v.RootViewID) {
			sv.Open = false
		}
	case "errors":
		return s.showErrorsLocked(v, resp.Errors)
	case "update":
		view, code, msgs := validateView(resp.View)
		if code != "" {
			return code + " " + strings.Join(msgs, "; ")
		}
		s.setViewLocked(v, view)
	case "push":
		return s.pushFromAckLocked(v, resp.View)
	default:
		return "unknown response_action " + resp.ResponseAction
	}
	return ""
}

// showErrorsLocked keeps v open with the errors a response_action "errors"
// names, and says which of their keys are not input blocks.
func (s *modals) showErrorsLocked(v *View, errs map[string]string) string {
	v.Errors = errs
	inputs := inputBlockIDs(v.JSON)
	v.ErrorKeysNotInput = nil
	for k := range errs {
		if !slices.Contains(inputs, k) {
			v.ErrorKeysNotInput = append(v.ErrorKeysNotInput, k)
		}
	}
	slices.Sort(v.ErrorKeysNotInput)
	if len(v.ErrorKeysNotInput) > 0 {
		return "errors names blocks that are not input blocks: " + strings.Join(v.ErrorKeysNotInput, ", ")
	}
	return ""
}

// pushFromAckLocked pushes the view of a response_action "push" onto v's stack.
func (s *modals) pushFromAckLocked(v *View, raw json.RawMessage) string {
	view, code, msgs := validateView(raw)
	if code != "" {
		return code + " " + strings.Join(msgs, "; ")
	}
	stack := s.openStack(v.RootViewID)
	if len(stack) >= MaxViewStack {
		return "push_limit_reached"
	}
	s.newViewLocked(view, v.RootViewID, stack[len(stack)-1].ID, v.UserID)
	return ""
}

// closeViewLocked closes a view and every view pushed above it.
func (s *modals) closeViewLocked(v *View) {
	closing := false
	for _, sv := range s.openStack(v.RootViewID) {
		if sv.ID == v.ID {
			closing = true
		}
		if closing {
			sv.Open = false
		}
	}
}

// CloseView closes a view as the user pressing its close button would.
func (s *modals) CloseView(viewID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.views[viewID]
	if v == nil || !v.Open {
		return false
	}
	s.closeViewLocked(v)
	return true
}

func inputBlockIDs(viewJSON []byte) []string {
	var view struct {
		Blocks []struct {
			Type    string `json:"type"`
			BlockID string `json:"block_id"`
		} `json:"blocks"`
	}
	_ = json.Unmarshal(viewJSON, &view)
	var ids []string
	for _, b := range view.Blocks {
		if b.Type == "input" && b.BlockID != "" {
			ids = append(ids, b.BlockID)
		}
	}
	return ids
}
