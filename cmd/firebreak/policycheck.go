package main

import (
	"errors"
	"fmt"
	"net/mail"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// PolicyError lists every problem found in a policy file, each with the
// line it is on, so one run of firebreak check shows them all.
type PolicyError struct {
	File     string
	Problems []PolicyProblem
}

// PolicyProblem is one problem: where (line and dotted key path) and what.
type PolicyProblem struct {
	Line int
	Path string
	Msg  string
}

func (p PolicyProblem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error implements error: one problem a line, in file order.
func (e *PolicyError) Error() string {
	var b strings.Builder
	name := e.File
	if name == "" {
		name = "policy"
	}
	fmt.Fprintf(&b, "POLICY_FILE %s: %d problem", name, len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// policyLint collects problems against the parsed YAML document, so each
// can name its line.
type policyLint struct {
	root     *yaml.Node
	problems []PolicyProblem
}

// add records a problem at a dotted key path such as
// "severities.P1.update_every"; the line is the deepest key found.
func (l *policyLint) add(path string, format string, args ...any) {
	l.problems = append(l.problems, PolicyProblem{Line: l.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// addErr records an error whose message starts with "path: ", as the
// policy's own validation words them.
func (l *policyLint) addErr(err error) {
	msg := err.Error()
	if path, rest, ok := strings.Cut(msg, ": "); ok && !strings.ContainsAny(path, " \"") {
		l.add(path, "%s", rest)
		return
	}
	l.problems = append(l.problems, PolicyProblem{Msg: msg})
}

func (l *policyLint) lineOf(path string) int {
	n := l.root
	line := 0
	if n != nil {
		line = n.Line
	}
	for _, key := range strings.Split(path, ".") {
		if n == nil || n.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		n = next
	}
	return line
}

func (l *policyLint) err(file string) error {
	if len(l.problems) == 0 {
		return nil
	}
	sort.SliceStable(l.problems, func(i, j int) bool { return l.problems[i].Line < l.problems[j].Line })
	return &PolicyError{File: file, Problems: l.problems}
}

// walk checks node against the Go type the policy decodes into: unknown
// keys (with a suggestion), and the shape of Slack ids where a field's `id`
// tag lists the kinds it accepts.
func (l *policyLint) walk(n *yaml.Node, t reflect.Type, path string, ids string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[yaml.Node]() {
		return // a field of several shapes, checked where it is decoded
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.MappingNode { // else the decoder reports the type mismatch, with its line
			l.walkStruct(n, t, path)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.walk(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value), ids)
		}
	case reflect.Slice:
		l.walkSlice(n, t, path, ids)
	case reflect.String:
		if ids != "" && n.Kind == yaml.ScalarNode && n.Value != "" {
			l.checkID(n, path, ids)
		}
	}
}

// walkStruct checks a mapping's keys against the struct's yaml fields and
// walks into each known one.
func (l *policyLint) walkStruct(n *yaml.Node, t reflect.Type, path string) {
	fields := map[string]reflect.StructField{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f
		names = append(names, name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := fields[k.Value]
		if !ok {
			l.problems = append(l.problems, PolicyProblem{Line: k.Line, Path: path, Msg: unknownKey(k.Value, names)})
			continue
		}
		l.walk(v, f.Type, joinPath(path, k.Value), f.Tag.Get("id"))
	}
}

// unknownKey words an unknown key: the likely typo's fix, else the keys
// known here (sorting names in place).
func unknownKey(key string, names []string) string {
	msg := fmt.Sprintf("unknown key %q", key)
	if s := suggest(key, names); s != "" {
		return msg + fmt.Sprintf("; did you mean %q?", s)
	}
	sort.Strings(names)
	return msg + "; known keys here: " + strings.Join(names, ", ")
}

// walkSlice walks a sequence's items; a single scalar where a list of ids
// is expected is checked as one id.
func (l *policyLint) walkSlice(n *yaml.Node, t reflect.Type, path string, ids string) {
	if n.Kind != yaml.SequenceNode {
		if ids != "" && n.Kind == yaml.ScalarNode {
			l.checkID(n, path, ids)
		}
		return
	}
	for i, item := range n.Content {
		l.walk(item, t.Elem(), path+"["+strconv.Itoa(i)+"]", ids)
	}
}

// joinPath appends key to the dotted path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	slackUserID    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	slackGroupID   = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	slackChannelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	slackTeamID    = regexp.MustCompile(`^T[A-Z0-9]{2,}$`)
	// Slack channel names: lower case letters, digits, hyphens and
	// underscores, at most 80 characters.
	slackChannelName = regexp.MustCompile(`^#[a-z0-9_][a-z0-9_-]{0,79}$`)
)

// idKinds says in words what each id kind looks like.
var idKinds = map[string]string{
	"user":    "a user id (U...)",
	"group":   "a user-group id (S...)",
	"email":   "an e-mail address",
	"channel": "a channel id (C...) or #name",
}

// emailAddress reports whether v is a bare e-mail address (no display
// name, no angle brackets).
func emailAddress(v string) bool {
	a, err := mail.ParseAddress(v)
	return err == nil && a.Address == v
}

// checkID checks one Slack reference against the kinds a field accepts.
func (l *policyLint) checkID(n *yaml.Node, path, kinds string) {
	v := n.Value
	var want []string
	for _, kind := range strings.Split(kinds, ",") {
		ok := false
		switch kind {
		case "user":
			ok = slackUserID.MatchString(v)
		case "group":
			ok = slackGroupID.MatchString(v)
		case "channel":
			ok = slackChannelID.MatchString(v) || slackChannelName.MatchString(v)
		case "email":
			ok = emailAddress(v)
		}
		if ok {
			return
		}
		want = append(want, idKinds[kind])
	}
	hint := ""
	switch {
	case strings.HasPrefix(v, "@"):
		hint = "; Slack ids do not start with @: use the member id from the profile's ⋮ menu (U...)"
	case strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">"):
		hint = "; write the bare id, without <...>"
	case strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz") && (slackUserID.MatchString(strings.ToUpper(v)) || slackGroupID.MatchString(strings.ToUpper(v))):
		hint = "; Slack ids are upper case"
	}
	msg := fmt.Sprintf("%q is not %s%s", v, orList(want), hint)
	l.problems = append(l.problems, PolicyProblem{Line: n.Line, Path: path, Msg: msg})
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// suggest returns the candidate closest to s when it is close enough to be
// a likely typo, else "".
func suggest(s string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), c)
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > max(2, len(best)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// typeErrors turns the decoder's "line N: cannot unmarshal ..." messages
// into problems.
func (l *policyLint) typeErrors(err error) {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		l.problems = append(l.problems, PolicyProblem{Msg: err.Error()})
		return
	}
	for _, e := range te.Errors {
		line := 0
		if rest, ok := strings.CutPrefix(e, "line "); ok {
			if num, msg, ok := strings.Cut(rest, ": "); ok {
				if n, err := strconv.Atoi(num); err == nil {
					line, e = n, msg
				}
			}
		}
		e = strings.Replace(e, "cannot unmarshal !!seq into", "expected a single value, not a list, for", 1)
		e = strings.Replace(e, "cannot unmarshal !!map into", "expected a single value, not a mapping, for", 1)
		e = strings.Replace(e, "cannot unmarshal !!str", "cannot use the text", 1)
		l.problems = append(l.problems, PolicyProblem{Line: line, Msg: e})
	}
}
