package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit and message limits, from Slack's Block Kit reference (see
// shared/reference/platform-facts.md 1.8; an option's value is 150 characters as the
// option object reference now says). Lengths count characters, not bytes.
const (
	MaxMessageText        = 40000
	MaxMessageBlocks      = 50
	MaxModalBlocks        = 100
	MaxSectionText        = 3000
	MaxSectionFields      = 10
	MaxSectionFieldText   = 2000
	MaxHeaderText         = 150
	MaxButtonText         = 75
	MaxButtonValue        = 2000
	MaxURL                = 3000
	MaxActionID           = 255
	MaxBlockID            = 255
	MaxActionsElements    = 25
	MaxContextElements    = 10
	MaxInputLabel         = 2000
	MaxImageText          = 2000
	MaxOptionText         = 75
	MaxOptionValue        = 150
	MaxPlaceholder        = 150
	MaxTextObject         = 3000
	MaxConfirmTitle       = 100
	MaxConfirmText        = 300
	MaxConfirmButton      = 30
	MaxSelectOptions      = 100
	MaxOverflowOptions    = 5
	MaxCheckboxOptions    = 10
	MaxTextInputMinLength = 3000
	MaxTextInputMaxLength = 3000
	MaxModalTitle         = 24
	MaxPrivateMetadata    = 3000
	MaxCallbackID         = 255
	MaxExternalID         = 255
	MaxViewBytes          = 250 * 1024
	// MaxBlocksText bounds the text of a message's blocks together: every
	// "text" string in them, counted in characters. Slack refuses more with
	// msg_blocks_too_long; it documents the figure only for markdown blocks
	// (12,000) and has refused section, header and divider messages near
	// it (slackapi/bolt-js#2509, #2867).
	MaxBlocksText = 12000
)

// validator collects Slack-style error messages: "[ERROR] <what> [json-pointer:<where>]".
type validator struct{ msgs []string }

func (v *validator) errf(ptr, format string, args ...any) {
	v.msgs = append(v.msgs, fmt.Sprintf("[ERROR] "+format+" [json-pointer:%s]", append(args, ptr)...))
}

func (v *validator) maxLen(ptr, s string, limit int) {
	if utf8.RuneCountInString(s) > limit {
		v.errf(ptr, "must be less than %d characters", limit+1)
	}
}

// minLen checks a text object's text, which Slack requires to hold at
// least one character.
func (v *validator) minLen(ptr, s string) {
	if s == "" {
		v.errf(ptr, "must be more than 0 characters")
	}
}

func (v *validator) maxItems(ptr string, n, limit int) {
	if n > limit {
		v.errf(ptr, "no more than %d items allowed", limit)
	}
}

func isJSONNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

func str(m map[string]any, key string) string { s, _ := m[key].(string); return s }

func obj(m map[string]any, key string) map[string]any { o, _ := m[key].(map[string]any); return o }

func arr(m map[string]any, key string) []any { a, _ := m[key].([]any); return a }

// textOf returns the "text" of a text object field, e.g. section.text.text.
func textOf(m map[string]any, key string) (string, bool) {
	o := obj(m, key)
	if o == nil {
		return "", false
	}
	return str(o, "text"), true
}

// validateMessage checks a message's text and blocks as chat.postMessage, chat.update
// and response_url do. It returns the Slack error code and, for invalid_blocks, the
// explanatory messages Slack puts in response_metadata.messages.
func validateMessage(text string, blocks, attachments json.RawMessage) (string, []string) {
	if utf8.RuneCountInString(text) > MaxMessageText {
		return "msg_too_long", nil
	}
	if isJSONNull(blocks) {
		if text == "" && isJSONNull(attachments) {
			return "no_text", nil
		}
		return "", nil
	}
	var list []any
	if err := json.Unmarshal(blocks, &list); err != nil {
		return "invalid_blocks_format", nil
	}
	if len(list) == 0 && text == "" && isJSONNull(attachments) {
		return "no_text", nil
	}
	var v validator
	v.blocks("/blocks", list, MaxMessageBlocks)
	if len(v.msgs) > 0 {
		return "invalid_blocks", v.msgs
	}
	return "", nil
}

// validatePostedMessage checks a message as chat.postMessage,
// chat.postEphemeral and chat.update do: validateMessage's rules, and then
// the text of the blocks together (msg_blocks_too_long).
func validatePostedMessage(text string, blocks, attachments json.RawMessage) (string, []string) {
	if code, msgs := validateMessage(text, blocks, attachments); code != "" {
		return code, msgs
	}
	var list []any
	if !isJSONNull(blocks) && json.Unmarshal(blocks, &list) == nil && BlocksText(list) > MaxBlocksText {
		return "msg_blocks_too_long", nil
	}
	return "", nil
}

// BlocksText counts the characters of every "text" string in decoded
// blocks, as Slack counts them toward msg_blocks_too_long.
func BlocksText(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "text" {
				n += utf8.RuneCountInString(s)
				continue
			}
			n += BlocksText(e)
		}
	case []any:
		for _, e := range x {
			n += BlocksText(e)
		}
	}
	return n
}

// validateView checks a modal view object as views.open/push/update do. Slack answers
// invalid_arguments (not invalid_blocks) for a bad view, with the details in
// response_metadata.messages.
func validateView(raw json.RawMessage) (map[string]any, string, []string) {
	if len(raw) > MaxViewBytes {
		return nil, "view_too_large", nil
	}
	var view map[string]any
	if isJSONNull(raw) || json.Unmarshal(raw, &view) != nil || view == nil {
		return nil, "invalid_arguments", []string{"[ERROR] must provide an object [json-pointer:/view]"}
	}
	var v validator
	if t := str(view, "type"); t != "modal" {
		v.errf("/view/type", "must be one of the following: modal")
	}
	title, hasTitle := textOf(view, "title")
	if !hasTitle {
		v.errf("/view", "missing required field: title")
	} else {
		v.maxLen("/view/title/text", title, MaxModalTitle)
	}
	if s, ok := textOf(view, "submit"); ok {
		v.maxLen("/view/submit/text", s, MaxModalTitle)
	}
	if s, ok := textOf(view, "close"); ok {
		v.maxLen("/view/close/text", s, MaxModalTitle)
	}
	v.maxLen("/view/private_metadata", str(view, "private_metadata"), MaxPrivateMetadata)
	v.maxLen("/view/callback_id", str(view, "callback_id"), MaxCallbackID)
	v.maxLen("/view/external_id", str(view, "external_id"), MaxExternalID)
	blocks := arr(view, "blocks")
	v.blocks("/view/blocks", blocks, MaxModalBlocks)
	if obj(view, "submit") == nil {
		for _, b := range blocks {
			if bm, _ := b.(map[string]any); str(bm, "type") == "input" {
				v.errf("/view", "must provide submit when using input blocks")
				break
			}
		}
	}
	if len(v.msgs) > 0 {
		return nil, "invalid_arguments", v.msgs
	}
	return view, "", nil
}

func (v *validator) blocks(ptr string, list []any, limit int) {
	v.maxItems(ptr, len(list), limit)
	seen := map[string]bool{}
	for i, b := range list {
		bp := fmt.Sprintf("%s/%d", ptr, i)
		bm, ok := b.(map[string]any)
		if !ok {
			v.errf(bp, "must provide an object")
			continue
		}
		if id := str(bm, "block_id"); id != "" {
			v.maxLen(bp+"/block_id", id, MaxBlockID)
			if seen[id] {
				v.errf(bp+"/block_id", "duplicate block_id")
			}
			seen[id] = true
		}
		v.block(bp, bm)
	}
}

func (v *validator) block(ptr string, b map[string]any) {
	switch str(b, "type") {
	case "section":
		v.sectionBlock(ptr, b)
	case "header":
		v.headerBlock(ptr, b)
	case "actions":
		els := arr(b, "elements")
		v.maxItems(ptr+"/elements", len(els), MaxActionsElements)
		v.elements(ptr+"/elements", els)
	case "context":
		v.contextBlock(ptr, b)
	case "input":
		v.inputBlock(ptr, b)
	case "image":
		v.maxLen(ptr+"/alt_text", str(b, "alt_text"), MaxImageText)
		if t, ok := textOf(b, "title"); ok {
			v.maxLen(ptr+"/title/text", t, MaxImageText)
		}
	case "":
		v.errf(ptr, "missing required field: type")
	}
}

func (v *validator) sectionBlock(ptr string, b map[string]any) {
	text, hasText := textOf(b, "text")
	fields := arr(b, "fields")
	if !hasText && fields == nil {
		v.errf(ptr, "must provide either text or fields")
	}
	if hasText {
		if text == "" {
			v.errf(ptr+"/text/text", "must be more than 0 characters")
		}
		v.maxLen(ptr+"/text/text", text, MaxSectionText)
	}
	v.maxItems(ptr+"/fields", len(fields), MaxSectionFields)
	for i, f := range fields {
		fm, _ := f.(map[string]any)
		v.minLen(fmt.Sprintf("%s/fields/%d/text", ptr, i), str(fm, "text"))
		v.maxLen(fmt.Sprintf("%s/fields/%d/text", ptr, i), str(fm, "text"), MaxSectionFieldText)
	}
	if acc := obj(b, "accessory"); acc != nil {
		v.element(ptr+"/accessory", acc)
	}
}

func (v *validator) headerBlock(ptr string, b map[string]any) {
	text, ok := textOf(b, "text")
	if !ok {
		v.errf(ptr, "missing required field: text")
	}
	if t := obj(b, "text"); t != nil && str(t, "type") != "plain_text" {
		v.errf(ptr+"/text/type", "must be one of the following: plain_text")
	}
	v.minLen(ptr+"/text/text", text)
	v.maxLen(ptr+"/text/text", text, MaxHeaderText)
}

func (v *validator) contextBlock(ptr string, b map[string]any) {
	els := arr(b, "elements")
	v.maxItems(ptr+"/elements", len(els), MaxContextElements)
	for i, e := range els {
		em, _ := e.(map[string]any)
		switch str(em, "type") {
		case "image":
			v.maxLen(fmt.Sprintf("%s/elements/%d/alt_text", ptr, i), str(em, "alt_text"), MaxImageText)
		case "mrkdwn", "plain_text":
			v.minLen(fmt.Sprintf("%s/elements/%d/text", ptr, i), str(em, "text"))
			v.maxLen(fmt.Sprintf("%s/elements/%d/text", ptr, i), str(em, "text"), MaxTextObject)
		}
	}
}

func (v *validator) inputBlock(ptr string, b map[string]any) {
	label, ok := textOf(b, "label")
	if !ok {
		v.errf(ptr, "missing required field: label")
	}
	v.minLen(ptr+"/label/text", label)
	v.maxLen(ptr+"/label/text", label, MaxInputLabel)
	if hint, ok := textOf(b, "hint"); ok {
		v.maxLen(ptr+"/hint/text", hint, MaxInputLabel)
	}
	if el := obj(b, "element"); el != nil {
		v.element(ptr+"/element", el)
	} else {
		v.errf(ptr, "missing required field: element")
	}
}

func (v *validator) elements(ptr string, els []any) {
	seen := map[string]bool{}
	for i, e := range els {
		ep := fmt.Sprintf("%s/%d", ptr, i)
		em, ok := e.(map[string]any)
		if !ok {
			v.errf(ep, "must provide an object")
			continue
		}
		if id := str(em, "action_id"); id != "" {
			if seen[id] {
				v.errf(ep+"/action_id", "duplicate action_id")
			}
			seen[id] = true
		}
		v.element(ep, em)
	}
}

func (v *validator) element(ptr string, e map[string]any) {
	v.maxLen(ptr+"/action_id", str(e, "action_id"), MaxActionID)
	if p, ok := textOf(e, "placeholder"); ok {
		v.maxLen(ptr+"/placeholder/text", p, MaxPlaceholder)
	}
	if c := obj(e, "confirm"); c != nil {
		v.confirm(ptr+"/confirm", c)
	}
	switch str(e, "type") {
	case "button":
		text, _ := textOf(e, "text")
		v.minLen(ptr+"/text/text", text)
		v.maxLen(ptr+"/text/text", text, MaxButtonText)
		v.maxLen(ptr+"/value", str(e, "value"), MaxButtonValue)
		v.maxLen(ptr+"/url", str(e, "url"), MaxURL)
	case "static_select", "multi_static_select":
		v.options(ptr+"/options", arr(e, "options"), MaxSelectOptions)
		groups := arr(e, "option_groups")
		v.maxItems(ptr+"/option_groups", len(groups), MaxSelectOptions)
		for i, g := range groups {
			gm, _ := g.(map[string]any)
			gp := fmt.Sprintf("%s/option_groups/%d", ptr, i)
			label, _ := textOf(gm, "label")
			v.maxLen(gp+"/label/text", label, MaxOptionText)
			v.options(gp+"/options", arr(gm, "options"), MaxSelectOptions)
		}
	case "overflow":
		v.options(ptr+"/options", arr(e, "options"), MaxOverflowOptions)
	case "checkboxes", "radio_buttons":
		v.options(ptr+"/options", arr(e, "options"), MaxCheckboxOptions)
	case "plain_text_input":
		// Slack takes an initial_value longer than max_length (it puts no
		// limit on initial_value); the person then cannot submit the form
		// until they shorten it.
		if n, ok := e["min_length"].(float64); ok && n > MaxTextInputMinLength {
			v.errf(ptr+"/min_length", "must be less than %d", MaxTextInputMinLength+1)
		}
		if n, ok := e["max_length"].(float64); ok && (n < 1 || n > MaxTextInputMaxLength) {
			v.errf(ptr+"/max_length", "must be between 1 and %d", MaxTextInputMaxLength)
		}
	}
}

// confirm checks a confirmation dialog object.
func (v *validator) confirm(ptr string, c map[string]any) {
	for _, f := range []struct {
		key   string
		limit int
	}{{"title", MaxConfirmTitle}, {"text", MaxConfirmText}, {"confirm", MaxConfirmButton}, {"deny", MaxConfirmButton}} {
		if t, ok := textOf(c, f.key); ok {
			v.maxLen(ptr+"/"+f.key+"/text", t, f.limit)
		}
	}
}

func (v *validator) options(ptr string, opts []any, limit int) {
	v.maxItems(ptr, len(opts), limit)
	for i, o := range opts {
		om, _ := o.(map[string]any)
		op := fmt.Sprintf("%s/%d", ptr, i)
		text, _ := textOf(om, "text")
		v.minLen(op+"/text/text", text)
		v.maxLen(op+"/text/text", text, MaxOptionText)
		v.maxLen(op+"/value", str(om, "value"), MaxOptionValue)
		if d, ok := textOf(om, "description"); ok {
			v.minLen(op+"/description/text", d)
			v.maxLen(op+"/description/text", d, MaxOptionText)
		}
	}
}
