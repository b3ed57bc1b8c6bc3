package github

import (
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// In an issue's or a pull request's title and body, and in their comments,
// GitHub links references to the issue, pull request or commit they name
// (GitHub's docs, "Autolinked references and URLs"): "#26", "GH-26",
// "user/repo#26" and "org/repo#26" for issues and pull requests, and a
// commit SHA alone, as "user@SHA" or as "user/repo@SHA". A reference to
// an issue or a pull request also shows on its timeline as "mentioned
// this". Text typed in an incident channel ("step #2", "see #3", a hash
// pasted from a log) names nothing in the repository, so the export must
// reference nothing, as it mentions nobody (mention.go), and for the same
// reason the same way: a referenceBreak where the reference's pattern
// wants a digit.
//
// GitHub makes no such reference in code, in a link, or in a repository's
// files ("Autolinked references are not created in wikis or files in a
// repository"): code and links are sent byte for byte, so a link written
// in the text, such as a deploy linked to its commit, stays a link, and
// the committed postmortem keeps its text as typed.
const referenceBreak = mentionBreak

// shaPiece is how many hex digits in a row a broken commit SHA keeps: one
// fewer than the seven GitHub takes at the least for a SHA.
const shaPiece = 6

// unreferenceMarkdown returns Markdown md with a referenceBreak wherever
// GitHub could read a reference in its text, raw HTML's text included, but
// not in code spans, code blocks, links, autolinked URLs or images, which
// are sent byte for byte. Applied again it changes nothing.
func unreferenceMarkdown(md string) string {
	src := []byte(md)
	var at []int
	_ = ast.Walk(mentionParser.Parse(text.NewReader(src)), func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.CodeSpan, *ast.CodeBlock, *ast.FencedCodeBlock, *ast.Link, *ast.AutoLink, *ast.Image:
			return ast.WalkSkipChildren, nil
		case *ast.Text:
			if prev, ok := n.PreviousSibling().(*ast.Text); ok && prev.Segment.Stop == n.Segment.Start {
				return ast.WalkContinue, nil // read with the text before it
			}
			// Text the parser cut in pieces ("#", "3") is one text in
			// the HTML, where GitHub looks.
			stop := n.Segment.Stop
			for next, ok := n.NextSibling().(*ast.Text); ok && next.Segment.Start == stop; next, ok = next.NextSibling().(*ast.Text) {
				stop = next.Segment.Stop
			}
			at = referenceAts(decode(src, n.Segment.Start, stop), at)
		case *ast.HTMLBlock:
			// Raw HTML: the text between its tags is searched, the tags
			// (an href="#3", a color) are not.
			lines := n.Lines()
			for i := range lines.Len() {
				at = htmlReferenceAts(src, lines.At(i).Start, lines.At(i).Stop, at)
			}
			if n.HasClosure() {
				at = htmlReferenceAts(src, n.ClosureLine.Start, n.ClosureLine.Stop, at)
			}
		}
		return ast.WalkContinue, nil
	})
	return string(insertBreaks(src, at))
}

// unreferenceTitle returns an issue's or a pull request's title with a
// referenceBreak wherever GitHub could read a reference: a title is plain
// text, where "&#35;3" shows as typed and so holds "#35", but for its code
// spans, which are sent byte for byte.
func unreferenceTitle(title string) string {
	src := []byte("x " + title) // as in unmentionTitle
	var at []int
	start := 2
	for _, c := range titleCodeSpans(src) {
		at = referenceAts(plain(src, start, c[0]), at)
		start = max(start, c[1])
	}
	at = referenceAts(plain(src, start, len(src)), at)
	return string(insertBreaks(src, at))[2:]
}

// quietMarkdown is Markdown md mentioning nobody and referencing nothing,
// as an issue's or a pull request's body is sent.
func quietMarkdown(md string) string { return unreferenceMarkdown(unmentionMarkdown(md)) }

// quietTitle is an issue's or a pull request's title mentioning nobody
// and referencing nothing.
func quietTitle(title string) string { return unreferenceTitle(unmentionTitle(title)) }

// char is one character of text as GitHub reads it, from src[start:stop]:
// c is the character when it is ASCII, and 0x80 for any other.
type char struct {
	c           byte
	start, stop int
}

// plain returns src[start:stop] as characters, each byte one.
func plain(src []byte, start, stop int) []char {
	out := make([]char, 0, max(stop-start, 0))
	for i := start; i < stop; i++ {
		c := src[i]
		if c >= 0x80 {
			c = 0x80
		}
		out = append(out, char{c, i, i + 1})
	}
	return out
}

// decode returns Markdown text src[start:stop] as the characters it
// renders to: a character reference ("&#35;", "&#x33;", "&num;") is the
// one character it stands for.
func decode(src []byte, start, stop int) []char {
	out := make([]char, 0, max(stop-start, 0))
	for i := start; i < stop; {
		if src[i] == '&' {
			if c, n := charRef(src[i:stop]); n > 0 {
				out = append(out, char{c, i, i + n})
				i += n
				continue
			}
		}
		c := src[i]
		if c >= 0x80 {
			c = 0x80
		}
		out = append(out, char{c, i, i + 1})
		i++
	}
	return out
}

// namedRefs are the named character references for the characters a
// reference is made of; any other name stands for a character that is
// none of them.
var namedRefs = map[string]byte{"&num;": '#', "&commat;": '@', "&hyphen;": '-', "&dash;": '-', "&amp;": '&'}

// charRef returns the character b begins with a reference to, as
// CommonMark reads one, and the reference's length; 0 when b begins with
// none. A character that is not ASCII is 0x80.
func charRef(b []byte) (byte, int) {
	end := 1
	for end < len(b) && end <= 32 && b[end] != ';' {
		end++
	}
	if end >= len(b) || b[end] != ';' || end == 1 {
		return 0, 0
	}
	ref := b[:end+1]
	if ref[1] != '#' {
		for i := 1; i < end; i++ {
			if !alnum(ref[i]) {
				return 0, 0
			}
		}
		if c, ok := namedRefs[string(ref)]; ok {
			return c, len(ref)
		}
		return 0x80, len(ref) // a letter or sign of some other kind
	}
	i, base, most := 2, 10, 7
	if i < end && (ref[i] == 'x' || ref[i] == 'X') {
		i, base, most = 3, 16, 6
	}
	if end-i == 0 || end-i > most {
		return 0, 0
	}
	v := 0
	for ; i < end; i++ {
		d := digit(ref[i], base)
		if d < 0 {
			return 0, 0
		}
		v = v*base + d
	}
	if v == 0 || v >= 0x80 {
		return 0x80, len(ref)
	}
	return byte(v), len(ref)
}

// referenceAts appends to at the offsets in the source where a
// referenceBreak goes among text's characters:
//   - between "#" and a digit: "#26", and with "user" or "owner/repo"
//     before it, whatever comes before;
//   - between "GH-" (in any case) and a digit, where no letter or digit
//     comes before it;
//   - after every sixth digit of a run of seven or more hex digits with no
//     letter or digit on either side, alone or after "user@" or
//     "owner/repo@", so no run of seven is left for a SHA; only a run with
//     both a decimal digit and a letter a-f, as nearly every SHA has: numbers
//     ("1523456 errors", "20261205") and words ("defaced") keep their text
//     whole for search and copying, and a commit a number happens to name
//     is linked, which notifies nobody and lists nothing on an issue.
//
// "_" joins no words here, though GitHub counts it in one: "_1a2b3c4_" is
// emphasis around a SHA.
func referenceAts(text []char, at []int) []int {
	word := func(k int) bool { return k >= 0 && k < len(text) && alnum(text[k].c) }
	isDigit := func(k int) bool { return k < len(text) && text[k].c >= '0' && text[k].c <= '9' }
	for k := 0; k < len(text); k++ {
		switch c := text[k].c; {
		case c == '#' && isDigit(k+1):
			at = append(at, text[k+1].start)
		case (c == 'g' || c == 'G') && !word(k-1) && k+3 < len(text) &&
			(text[k+1].c == 'h' || text[k+1].c == 'H') && text[k+2].c == '-' && isDigit(k+3):
			at = append(at, text[k+3].start)
		}
	}
	for k := 0; k < len(text); {
		if !hexDigit(text[k].c) || word(k-1) {
			k++
			continue
		}
		end := k
		for end < len(text) && hexDigit(text[end].c) {
			end++
		}
		if end-k > shaPiece && !word(end) && mixedHex(text[k:end]) {
			for p := k + shaPiece; p < end; p += shaPiece {
				at = append(at, text[p].start)
			}
		}
		k = end
	}
	return at
}

// htmlReferenceAts is referenceAts for a line of raw HTML, src[start:stop]:
// the text between its tags is searched, not the tags.
func htmlReferenceAts(src []byte, start, stop int, at []int) []int {
	for i := start; i < stop; {
		if src[i] == '<' {
			for i < stop && src[i] != '>' {
				i++
			}
			i++
			continue
		}
		j := i
		for j < stop && src[j] != '<' {
			j++
		}
		at = referenceAts(decode(src, i, j), at)
		i = j
	}
	return at
}

// titleCodeSpans returns where the code spans' text lies in src, a title
// behind "x ".
func titleCodeSpans(src []byte) [][2]int {
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
	return code
}

// mixedHex reports whether run holds both a decimal digit and a letter.
func mixedHex(run []char) bool {
	var digit, letter bool
	for _, c := range run {
		if c.c >= '0' && c.c <= '9' {
			digit = true
		} else {
			letter = true
		}
	}
	return digit && letter
}

func hexDigit(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
