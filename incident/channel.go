package incident

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// MaxChannelName is Slack's limit on a channel name.
const MaxChannelName = 80

// maxChannelPrefix bounds the prefix of a channel name: with the date
// ("-2006-01-02-") and the largest "-n" it leaves 25 characters of the
// title, whatever the policy's channels.prefix.
const maxChannelPrefix = 40

// ChannelName returns the name of an incident's channel:
// <prefix>-YYYY-MM-DD-<slug>, with the date in loc and the slug made from the
// title (lowercase ASCII letters, digits and "-", accents folded, anything
// else dropped). attempt 1 is the plain name; attempt n > 1 appends "-n" for
// a name that was taken. The slug is cut on a word boundary so the whole name,
// suffix included, fits Slack's 80 characters. A title with nothing usable
// gets the incident number instead. A prefix longer than 40 characters is
// cut on a word boundary too, keeping its last word (a drill's "-drill").
func ChannelName(prefix string, declaredAt time.Time, loc *time.Location, title string, number int64, attempt int) string {
	if loc == nil {
		loc = time.UTC
	}
	if prefix = cutPrefix(Slug(prefix), maxChannelPrefix); prefix == "" {
		prefix = "inc"
	}
	head := prefix + "-" + declaredAt.In(loc).Format("2006-01-02") + "-"
	suffix := ""
	if attempt > 1 {
		suffix = fmt.Sprintf("-%d", attempt)
	}
	slug := Slug(title)
	if slug == "" {
		slug = fmt.Sprintf("inc-%d", number)
	}
	room := MaxChannelName - len(head) - len(suffix)
	return head + cutWords(slug, room) + suffix
}

// Slug lowercases s, folds accented Latin letters to ASCII, turns every run
// of other characters into one "-", and trims "-" from both ends.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if f, ok := foldTable[r]; ok {
			b.WriteString(f)
			dash = false
			continue
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if unicode.Is(unicode.Mn, r) { // a combining accent: drop it, keep the letter
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// cutPrefix shortens a slugged prefix to at most n bytes as cutWords does,
// but keeps its last word when that is short, so "...-drill" stays a drill.
func cutPrefix(prefix string, n int) string {
	if len(prefix) <= n {
		return prefix
	}
	if i := strings.LastIndexByte(prefix, '-'); i > 0 && len(prefix)-i <= n/2 {
		if head := cutWords(prefix[:i], n-(len(prefix)-i)); head != "" {
			return head + prefix[i:]
		}
	}
	return cutWords(prefix, n)
}

// cutWords shortens a slug to at most n bytes, dropping whole words from the
// end; a first word longer than n is cut hard.
func cutWords(slug string, n int) string {
	if len(slug) <= n {
		return slug
	}
	if n <= 0 {
		return ""
	}
	cut := slug[:n+1]
	if i := strings.LastIndexByte(cut, '-'); i > 0 {
		return strings.TrimRight(slug[:i], "-")
	}
	return strings.TrimRight(slug[:n], "-")
}

// foldTable maps lower-case accented Latin letters to ASCII.
var foldTable = func() map[rune]string {
	groups := map[string]string{
		"a": "àáâãäåāăą", "ae": "æ", "c": "çćĉċč", "d": "ďđð", "e": "èéêëēĕėęě",
		"g": "ĝğġģ", "h": "ĥħ", "i": "ìíîïĩīĭįı", "ij": "ĳ", "j": "ĵ", "k": "ķ",
		"l": "ĺļľŀł", "n": "ñńņňŉ", "o": "òóôõöøōŏő", "oe": "œ", "r": "ŕŗř",
		"s": "śŝşšș", "ss": "ß", "t": "ţťŧț", "th": "þ", "u": "ùúûüũūŭůűų",
		"w": "ŵ", "y": "ýÿŷ", "z": "źżž",
	}
	m := map[rune]string{}
	for ascii, letters := range groups {
		for _, r := range letters {
			m[r] = ascii
		}
	}
	return m
}()
