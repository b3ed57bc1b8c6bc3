package github

import (
	"bytes"
	"slices"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// GitHub turns "@login" and "@org/team" in an issue's or a pull request's
// Markdown into mentions, and notifies whoever they name. The export posts
// text people typed in Slack with the bot's token, so it must mention
// nobody: only the GitHub logins the policy maps owners to are assigned.
//
// GitHub finds mentions in the text of the rendered Markdown, not in code
// (code spans and code blocks) or links, and only where the "@" follows
// the start of a text node or a character that is not a letter, digit or
// "_" and is followed by a letter or digit: "ops@example.com" mentions
// nobody (html-pipeline's MentionFilter and TeamMentionFilter).
//
// mentionBreak goes between such an "@" and the name. It is U+200B ZERO
// WIDTH SPACE: it shows as nothing, so the text reads the same, and the
// mention patterns want a letter or digit right after the "@", so nothing
// is mentioned; it is what GitHub's own Dependabot puts in the release
// notes it quotes for the same reason. "&#64;", an entity for the "@", does
// not do: the Markdown renderer turns it back into an "@" in the text
// GitHub searches, and a title, which is not Markdown, would show it.
const mentionBreak = "\u200b"

// mentionParser parses Markdown as GitHub does (GitHub Flavored Markdown,
// footnotes included), so that code and links are told from text as GitHub
// will tell them.
var mentionParser = goldmark.New(goldmark.WithExtensions(extension.GFM, extension.Footnote)).Parser()

// unmentionMarkdown returns Markdown md with a mentionBreak after every "@"
// that GitHub could read as the start of a mention: in its text, raw HTML
// included, but not in code spans, code blocks, link destinations or
// autolinked URLs, which are sent byte for byte, as is an e-mail address.
// Applied again it changes nothing.
func unmentionMarkdown(md string) string {
	src := []byte(md)
	var at []int
	_ = ast.Walk(mentionParser.Parse(text.NewReader(src)), func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.CodeSpan, *ast.CodeBlock, *ast.FencedCodeBlock:
			return ast.WalkSkipChildren, nil
		case *ast.AutoLink:
			if n.AutoLinkType == ast.AutoLinkEmail {
				// GitHub links it too, but an address that is not one
				// to GitHub must still mention nobody.
				label := n.Label(src)
				if start := n.Pos() + bytes.Index(src[n.Pos():], label); start >= n.Pos() {
					at = mentionAts(src, start, start+len(label), at)
				}
			}
		case *ast.Text:
			start := n.Segment.Start
			if prev, ok := n.PreviousSibling().(*ast.Text); !ok || prev.Segment.Stop != start {
				// The text starts a node of its own in the HTML, where
				// an "@" first is one after the start.
				at = boundaryAt(src, start, n.Segment.Stop, at)
				start++
			}
			at = mentionAts(src, start, n.Segment.Stop, at)
		case *ast.HTMLBlock:
			// Raw HTML: its text is searched, its markup is not, so
			// all of it is treated as text.
			lines := n.Lines()
			for i := range lines.Len() {
				at = mentionAts(src, lines.At(i).Start, lines.At(i).Stop, at)
			}
			if n.HasClosure() {
				at = mentionAts(src, n.ClosureLine.Start, n.ClosureLine.Stop, at)
			}
		}
		return ast.WalkContinue, nil
	})
	return string(insertBreaks(src, at))
}

// unmentionTitle returns an issue's or a pull request's title with a
// mentionBreak after every "@" GitHub could read as a mention's: GitHub
// renders a title as plain text but for its code spans, which are sent
// byte for byte.
func unmentionTitle(title string) string {
	// Behind "x " the title is a paragraph's inline text, whatever it
	// starts with ("#", "-", four spaces), as in the title.
	src := []byte("x " + title)
	var code [][2]int
	_ = ast.Walk(mentionParser.Parse(text.NewReader(src)), func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if span, ok := n.(*ast.CodeSpan); ok && entering {
			for c := span.FirstChild(); c != nil; c = c.NextSibling() {
				if t, ok := c.(*ast.Text); ok {
					code = append(code, [2]int{t.Segment.Start, t.Segment.Stop})
				}
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	var at []int
	start := 2
	for _, c := range code {
		at = mentionAts(src, start, c[0], at)
		start = max(start, c[1])
	}
	at = mentionAts(src, start, len(src), at)
	return string(insertBreaks(src, at))[2:]
}

// fitUnmentioned returns s with no mention (nor, with quietMarkdown or
// quietTitle as unmention, any reference), cut by cut to at most n runes.
// Cutting may end a code span before its closing backticks and so bare an
// "@" or a "#3" in it, which is then broken too, cutting further where
// that went over n.
func fitUnmentioned(s string, n int, unmention func(string) string, cut func(string, int) string) string {
	s = unmention(s)
	for m := n; ; {
		out := unmention(cut(s, m))
		over := utf8.RuneCountInString(out) - n
		if over <= 0 || m-over < 1 {
			return out
		}
		m -= over
	}
}

// boundaryAt is mentionAts for an "@" at src[start], the first character
// of a node of text: one after the start of a text node, which may be a
// mention whatever came before it in the source.
func boundaryAt(src []byte, start, stop int, at []int) []int {
	if start >= stop {
		return at
	}
	if n := atSign(src[start:]); n > 0 && mentionNext(src, start+n) {
		at = append(at, start+n)
	}
	return at
}

// mentionAts appends to at the offsets, just past an "@", where a
// mentionBreak goes in src[start:stop]: past every "@" (or a character
// reference for one, which Markdown reads as "@") that does not follow an
// ASCII letter or digit and is followed by one, or by "&", which may begin
// a reference to one. "_" before the "@" does not keep it, though GitHub
// counts it as part of a word: "_a_@x" is emphasis before a mention.
func mentionAts(src []byte, start, stop int, at []int) []int {
	for i := start; i < stop; i++ {
		n := atSign(src[i:])
		if n == 0 {
			continue
		}
		if (i == 0 || !alnum(src[i-1])) && mentionNext(src, i+n) {
			at = append(at, i+n)
		}
		i += n - 1
	}
	return at
}

// mentionNext reports whether what follows an "@" ending at src[i] can
// begin a login or an organization's name.
func mentionNext(src []byte, i int) bool {
	return i < len(src) && (alnum(src[i]) || src[i] == '&')
}

// atSign returns the length of the "@" that b begins with: 1 for "@", the
// reference's length for "&commat;", "&#64;" or "&#x40;" (with leading
// zeros, as CommonMark reads them), and 0 when b begins with none.
func atSign(b []byte) int {
	switch {
	case len(b) == 0:
		return 0
	case b[0] == '@':
		return 1
	case bytes.HasPrefix(b, []byte("&commat;")):
		return len("&commat;")
	case !bytes.HasPrefix(b, []byte("&#")):
		return 0
	}
	i, base, most := 2, 10, 7
	if i < len(b) && (b[i] == 'x' || b[i] == 'X') {
		i, base, most = 3, 16, 6
	}
	v, digits := 0, 0
	for ; i < len(b) && digits < most; i, digits = i+1, digits+1 {
		d := digit(b[i], base)
		if d < 0 {
			break
		}
		v = v*base + d
	}
	if digits == 0 || v != '@' || i >= len(b) || b[i] != ';' {
		return 0
	}
	return i + 1
}

func digit(c byte, base int) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case base == 16 && c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case base == 16 && c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func alnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// insertBreaks returns src with a mentionBreak at each offset of at.
func insertBreaks(src []byte, at []int) []byte {
	if len(at) == 0 {
		return src
	}
	slices.Sort(at)
	at = slices.Compact(at)
	out := make([]byte, 0, len(src)+len(at)*len(mentionBreak))
	prev := 0
	for _, i := range at {
		out = append(out, src[prev:i]...)
		out = append(out, mentionBreak...)
		prev = i
	}
	return append(out, src[prev:]...)
}
