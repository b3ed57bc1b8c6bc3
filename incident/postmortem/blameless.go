package postmortem

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Finding is one problem the blameless check found in a section's text.
type Finding struct {
	// Section names the part of the postmortem, such as "Root cause".
	Section string
	// Phrase is what was found: a blame phrase from BlameLanguage, a
	// person's name or a Slack mention, as it appears in the text; or
	// wording in a script other than Latin, which the English blame
	// phrases cannot read.
	Phrase string
	// Suggestion says how to rewrite it.
	Suggestion string
}

// BlameRule is one blame phrase the check looks for.
type BlameRule struct {
	// Phrase is matched as whole words, case-insensitively, with any run of
	// spaces between its words.
	Phrase string
	// Subjects, when set, limits the rule to the phrase said of a person:
	// it matches only right after one of these words, a participant's name
	// or a mention ("someone failed to", not "the health check failed to").
	Subjects   []string
	Suggestion string
}

// Suggestions shared by several rules.
const (
	suggestSystem = "Describe what in the system or process allowed this (a missing check, alert or guard rail), not what a person did wrong."
	suggestName   = "Name the role or the system instead of the person, such as \"the on-call engineer\" or \"the deploy pipeline\"."
	// suggestEnglishOnly is the note on a section with wording in a
	// script other than Latin.
	suggestEnglishOnly = "The check looks for blame wording in English only: the participants' names were looked for here, but read this wording for blame by hand."
)

// otherScript returns the first run of words in norm, normalized text,
// written in a script other than Latin that holds more than the names
// (normalized, as written there) of the people the draft knows: wording
// the English blame phrases cannot read. Wording is a run of at least two
// letters of such scripts (with their marks, such as Devanagari's vowel
// signs) outside the names: a single letter is a unit or a symbol ("300µs",
// "Δ latency", "3σ"), and the micro sign is never one. The run is quoted
// up to the next Latin letter, at most 30 characters. ok is false when
// there is none ("Rolled back by 李雷" is English).
func otherScript(norm string, names []string) (quote string, ok bool) {
	named := make([]bool, len(norm))
	for _, n := range names {
		for from := 0; n != "" && from < len(norm); {
			i := strings.Index(norm[from:], n)
			if i < 0 {
				break
			}
			i += from
			for k := i; k < i+len(n); k++ {
				named[k] = true
			}
			from = i + len(n)
		}
	}
	foreign := func(r rune) bool { return unicode.IsLetter(r) && !unicode.Is(unicode.Latin, r) && r != '\u00b5' }
	// wording reports whether the run of letters of other scripts that
	// starts at i, outside the names, has two letters or more.
	wording := func(i int) bool {
		letters := 0
		for i < len(norm) && !named[i] {
			r, size := utf8.DecodeRuneInString(norm[i:])
			if foreign(r) {
				letters++
			} else if !unicode.IsMark(r) {
				break
			}
			i += size
		}
		return letters >= 2
	}
	for i, r := range norm {
		if named[i] || !foreign(r) || !wording(i) {
			continue
		}
		start := i
		for start > 0 {
			p, size := utf8.DecodeLastRuneInString(norm[:start])
			if !foreign(p) {
				break
			}
			start -= size
		}
		quote = norm[start:]
		if end := strings.IndexFunc(quote, func(r rune) bool { return unicode.Is(unicode.Latin, r) }); end >= 0 {
			quote = quote[:end]
		}
		quote = strings.TrimRight(strings.TrimSpace(quote), " .,:;")
		if utf8.RuneCountInString(quote) > 30 {
			quote = string([]rune(quote)[:29]) + "…"
		}
		return quote, true
	}
	return "", false
}

// personSubjects are the words that make "failed to" and similar phrases
// about a person rather than a system.
func personSubjects() []string {
	return []string{"he", "she", "they", "i", "we", "you", "someone", "somebody", "nobody", "no one", "everyone",
		"engineer", "engineers", "developer", "developers", "dev", "operator", "on-call", "oncall", "on-call engineer",
		"reviewer", "reviewers", "author", "the team", "team", "person", "user", "admin", "sre"}
}

// BlameLanguage returns the phrases the blameless check flags, with the
// rewrite each suggests. The practice holds that human error is a symptom
// of a system problem, never the root cause, so the review describes
// systems and processes, not people.
func BlameLanguage() []BlameRule {
	people := personSubjects()
	return []BlameRule{
		{Phrase: "blame", Suggestion: "A blameless review looks for causes in the system; say what made the failure possible."},
		{Phrase: "blamed", Suggestion: "A blameless review looks for causes in the system; say what made the failure possible."},
		{Phrase: "to blame", Suggestion: "A blameless review looks for causes in the system; say what made the failure possible."},
		{Phrase: "fault of", Suggestion: suggestSystem},
		{Phrase: "at fault", Suggestion: suggestSystem},
		{Phrase: "'s fault", Suggestion: suggestSystem},
		{Phrase: "should have", Suggestion: "Say what the system did not provide (a check, an alert, a safer default) instead of what someone should have done."},
		{Phrase: "should not have", Suggestion: "Say which guard rail was missing instead of what someone should not have done."},
		{Phrase: "shouldn't have", Suggestion: "Say which guard rail was missing instead of what someone should not have done."},
		{Phrase: "careless", Suggestion: suggestSystem},
		{Phrase: "carelessly", Suggestion: suggestSystem},
		{Phrase: "carelessness", Suggestion: suggestSystem},
		{Phrase: "human error", Suggestion: "Human error is a symptom, not a root cause: name the missing safeguard that let the mistake reach production."},
		{Phrase: "operator error", Suggestion: "Operator error is a symptom, not a root cause: name the missing safeguard that let the mistake reach production."},
		{Phrase: "negligent", Suggestion: suggestSystem},
		{Phrase: "negligence", Suggestion: suggestSystem},
		{Phrase: "failed to", Subjects: people, Suggestion: "Say what the process or tooling did not catch, rather than who failed."},
		{Phrase: "forgot to", Suggestion: "Say which step had no reminder, checklist or automation, rather than who forgot."},
		{Phrase: "didn't bother", Suggestion: suggestSystem},
		{Phrase: "did not bother", Suggestion: suggestSystem},
		{Phrase: "didn't check", Subjects: people, Suggestion: "Say which check was missing from the process, rather than who did not check."},
		{Phrase: "did not check", Subjects: people, Suggestion: "Say which check was missing from the process, rather than who did not check."},
		{Phrase: "dropped the ball", Suggestion: suggestSystem},
		{Phrase: "messed up", Suggestion: suggestSystem},
		{Phrase: "screwed up", Suggestion: suggestSystem},
		{Phrase: "sloppy", Suggestion: suggestSystem},
		{Phrase: "lazy", Suggestion: suggestSystem},
		{Phrase: "incompetent", Suggestion: suggestSystem},
		{Phrase: "stupid", Suggestion: suggestSystem},
		{Phrase: "not paying attention", Suggestion: "Say what made the signal easy to miss (noise, no alert, an unclear dashboard)."},
		{Phrase: "ignored the", Subjects: people, Suggestion: "Say what made the signal easy to miss (noise, no alert, an unclear dashboard)."},
	}
}

// BlamelessCheck looks in text for people's names, Slack user mentions
// (<@U…>) and the blame language of BlameLanguage. It returns one finding
// per distinct phrase, in the order they first appear, each with section
// set.
//
// names are the display names of the people the draft knows (its
// participants). A name of several words is found anywhere, as whole
// words, in any case. A first name alone ("Bob" for "Bob Martin", or a
// one-word name) is found by firstName's rule, which an SRE team can live
// with: a first name that is not an everyday English word is a name
// wherever it is written, but not in capitals (SAM, ED read as acronyms);
// one that is ("Will", "Mark", "Grant", "May": nameWords) counts only
// written capitalised right before blame wording the check knows ("Will
// forgot to", "Mark should have", "Grant's fault") or right after "blame",
// "blamed" or "fault of", so "Will the deploy finish?" is not flagged.
//
// A name written in Han, Hiragana, Katakana or Hangul is found inside the
// text's words, as those scripts run a name into the particle or honorific
// after it ("田中さんの", "김철수가"), and a full name of several words in
// them also written without its spaces ("田中太郎" for "田中 太郎"). The
// blame language is English: text with other wording in a script other
// than Latin (two of its letters or more together, not a unit or a symbol
// such as "300µs" or "Δ latency") gets a finding saying its wording was
// not checked.
func BlamelessCheck(section, text string, names []string) []Finding {
	norm := normalize(text)
	type hit struct {
		pos int
		f   Finding
	}
	var hits []hit
	seen := map[string]bool{}
	add := func(pos int, phrase, suggestion string) {
		key := strings.ToLower(phrase)
		if seen[key] {
			return
		}
		seen[key] = true
		hits = append(hits, hit{pos, Finding{Section: section, Phrase: phrase, Suggestion: suggestion}})
	}

	// Mentions are found in the original text, since their ids are
	// case-sensitive.
	for _, m := range userMentions(text) {
		if slackUserID(m.id) {
			add(m.start, text[m.start:m.end], suggestName)
		}
	}

	var lowNames, full, given []string
	for _, n := range names {
		n = normalize(strings.TrimSpace(n))
		if utf8.RuneCountInString(n) < 2 || strings.EqualFold(n, "firebreak") {
			continue
		}
		lowNames = append(lowNames, n)
		first, _, several := strings.Cut(n, " ")
		if !several {
			given = append(given, n)
			continue
		}
		full = append(full, n)
		if utf8.RuneCountInString(first) >= 2 {
			// "Bob failed to" is said of a person even when only the full
			// name "Bob Martin" is listed.
			lowNames = append(lowNames, first)
			given = append(given, first)
		}
		joined := spaceless(n)
		if joined != n {
			// Written in these scripts, a name's parts run together.
			full = append(full, joined)
		}
		pos, found := findWords(norm, n), n
		if p := findWords(norm, joined); joined != n && p >= 0 && (pos < 0 || p < pos) {
			pos, found = p, joined
		}
		if pos >= 0 {
			add(pos, strings.TrimSpace(original(text, norm, pos, found)), suggestName)
		}
	}
	for _, g := range given {
		if pos, phrase, ok := firstName(text, g, full); ok {
			add(pos, phrase, suggestName)
		}
	}

	for _, rule := range BlameLanguage() {
		phrase := normalize(rule.Phrase)
		for from := 0; from < len(norm); {
			pos := findWords(norm[from:], phrase)
			if pos < 0 {
				break
			}
			pos += from
			if len(rule.Subjects) == 0 || saidOfPerson(norm[:pos], rule.Subjects, lowNames) {
				add(pos, rule.Phrase, rule.Suggestion)
				break
			}
			from = pos + len(phrase)
		}
	}

	if quote, ok := otherScript(norm, append(lowNames, full...)); ok {
		// The blame wording is English: say so rather than let wording
		// in another language pass as checked.
		add(len(norm), quote, suggestEnglishOnly)
	}

	sort.SliceStable(hits, func(i, j int) bool { return hits[i].pos < hits[j].pos })
	out := make([]Finding, 0, len(hits))
	for _, h := range hits {
		out = append(out, h.f)
	}
	return out
}

// normalize lower-cases s, turns typographic apostrophes into "'" and
// collapses every run of white space into one space, so phrases match across
// line breaks. It keeps byte offsets meaningful only within the result.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		case r == '\u2019' || r == '\u2018' || r == '`':
			r = '\''
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// original returns the words of the normalized match as the text wrote them
// when the two line up (plain ASCII), and the normalized words otherwise.
func original(text, norm string, pos int, phrase string) string {
	if len(text) == len(norm) && pos+len(phrase) <= len(text) && strings.EqualFold(text[pos:pos+len(phrase)], phrase) {
		return text[pos : pos+len(phrase)]
	}
	return phrase
}

// findWords returns the byte offset of the first occurrence of phrase in s
// that starts and ends on a word boundary, or -1.
func findWords(s, phrase string) int {
	if phrase == "" {
		return -1
	}
	for from := 0; from <= len(s)-len(phrase); {
		i := strings.Index(s[from:], phrase)
		if i < 0 {
			return -1
		}
		i += from
		if boundaryBefore(s, i, phrase) && boundaryAfter(s, i+len(phrase), phrase) {
			return i
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		from = i + size
	}
	return -1
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

// cjkRune reports whether r is written in Han, Hiragana, Katakana or
// Hangul (the prolonged sound mark included), scripts that put no space
// or other mark between a name and the particle or honorific after it
// ("田中さんの", "김철수가"): a name that starts or ends in them needs no
// word boundary on that side.
func cjkRune(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r == '\u30fc' || r == '\uff70'
}

// spaceless is name without its spaces when it is written in Han,
// Hiragana, Katakana or Hangul ("田中 太郎" is written "田中太郎"), and name
// otherwise.
func spaceless(name string) string {
	if strings.IndexFunc(name, cjkRune) < 0 {
		return name
	}
	return strings.ReplaceAll(name, " ", "")
}

func boundaryBefore(s string, i int, phrase string) bool {
	if i == 0 {
		return true
	}
	first, _ := utf8.DecodeRuneInString(phrase)
	if !wordRune(first) || cjkRune(first) {
		return true // a phrase such as "'s fault" attaches to the word before
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return !wordRune(r)
}

func boundaryAfter(s string, i int, phrase string) bool {
	if i >= len(s) {
		return true
	}
	last, _ := utf8.DecodeLastRuneInString(phrase)
	if !wordRune(last) || cjkRune(last) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return !wordRune(r)
}

// saidOfPerson reports whether the text right before a phrase ends with a
// person: one of the subject words, a participant's name or a mention.
func saidOfPerson(before string, subjects, names []string) bool {
	before = strings.TrimRight(before, " ")
	if last := strings.LastIndexByte(before, '<'); last >= 0 && strings.HasSuffix(before, ">") && len(userMentions(before[last:])) > 0 {
		return true
	}
	for _, list := range [][]string{subjects, names} {
		for _, w := range list {
			if strings.HasSuffix(before, w) && boundaryBefore(before, len(before)-len(w), w) {
				return true
			}
		}
	}
	return false
}

// firstName finds name, a first name (or a one-word name) in lower case,
// in text as a person, and returns its offset in normalize(text) and the
// word as written. An occurrence that starts one of the full names is the
// full name's, found already. A name that is an everyday word (nameWords)
// counts only written capitalised next to blame wording (blamedNext);
// another counts anywhere but written in capitals, as an acronym is. A
// name that is not a single word ("jean-luc") is found as the full names
// are.
func firstName(text, name string, full []string) (int, string, bool) {
	if strings.IndexFunc(name, cjkRune) >= 0 {
		// Found inside the words of these scripts, but not where it
		// starts a full name, found already.
		norm := normalize(text)
		for from := 0; from < len(norm); {
			pos := findWords(norm[from:], name)
			if pos < 0 {
				break
			}
			pos += from
			if !startsFullName(norm[pos:], full) {
				return pos, strings.TrimSpace(original(text, norm, pos, name)), true
			}
			from = pos + len(name)
		}
		return 0, "", false
	}
	if strings.IndexFunc(name, func(r rune) bool { return !wordRune(r) }) >= 0 {
		norm := normalize(text)
		if pos := findWords(norm, name); pos >= 0 {
			return pos, strings.TrimSpace(original(text, norm, pos, name)), true
		}
		return 0, "", false
	}
	everyday := nameWords[name]
	for start := 0; start < len(text); {
		i := strings.IndexFunc(text[start:], wordRune)
		if i < 0 {
			break
		}
		i += start
		end := i + strings.IndexFunc(text[i:], func(r rune) bool { return !wordRune(r) })
		if end < i {
			end = len(text)
		}
		start = end
		word := text[i:end]
		if !strings.EqualFold(word, name) || normalize(word) != name || allCaps(word) || startsFullName(normalize(text[i:]), full) {
			continue
		}
		if everyday && (!capitalised(word) || !blamedNext(text[:i], text[end:])) {
			continue
		}
		return len(normalize(text[:i])), word, true
	}
	return 0, "", false
}

// startsFullName reports whether s, normalized text, starts with one of the
// full names as whole words.
func startsFullName(s string, full []string) bool {
	for _, f := range full {
		if strings.HasPrefix(s, f) && boundaryAfter(s, len(f), f) {
			return true
		}
	}
	return false
}

// allCaps reports whether word is written in capitals ("SAM").
func allCaps(word string) bool {
	return strings.ToUpper(word) == word && strings.ToLower(word) != word
}

// capitalised reports whether word is written as a name: a capital, then
// not all capitals.
func capitalised(word string) bool {
	r, _ := utf8.DecodeRuneInString(word)
	return unicode.IsUpper(r) && !allCaps(word)
}

// blamedNext reports whether a word between before and after is next to
// blame wording: right before a phrase of BlameLanguage ("Will forgot to",
// "Will's fault") or right after "blame", "blamed" or "fault of" ("we
// blamed Will").
func blamedNext(before, after string) bool {
	after = normalize(after)
	for _, rule := range BlameLanguage() {
		p, rest := normalize(rule.Phrase), after
		if first, _ := utf8.DecodeRuneInString(p); wordRune(first) {
			var ok bool
			if rest, ok = strings.CutPrefix(rest, " "); !ok {
				continue
			}
		}
		if strings.HasPrefix(rest, p) && boundaryAfter(rest, len(p), p) {
			return true
		}
	}
	before, ok := strings.CutSuffix(normalize(before), " ")
	if !ok {
		return false
	}
	for _, p := range []string{"blame", "blamed", "fault of"} {
		if strings.HasSuffix(before, p) && boundaryBefore(before, len(before)-len(p), p) {
			return true
		}
	}
	return false
}
