// Package twiml writes TwiML documents with a fixed attribute order,
// escaped exactly as Twilio's Node library escapes them (its output is the
// reference: testdata/twiml.json, and the goldens built on it).
//
// Why a small builder rather than a library. Speed is not the reason (a
// render is well under a microsecond inside a 40 µs handler); matching the
// reference is:
//   - encoding/xml cannot write the reference's bytes. It never writes an
//     empty element as <Hangup/> (always <Hangup></Hangup>), and its
//     escaper writes " and ' in text as &#34; and &#39;, and TAB and LF as
//     &#x9; and &#xA;, where the reference keeps them literal. Matching it
//     would take structs for every verb, our own escaper anyway (through
//     ",innerxml") and a rewrite of the empty elements: more code than this.
//   - twilio-go's twiml keeps attributes in maps, so the same response
//     comes out in a different order on each call (no goldens, no diffs),
//     and it links github.com/beevik/etree into every function that answers
//     calls.
//
// Builder writes elements and attributes in the order given into a
// caller-owned byte slice; the escaping rules are written out below.
package twiml

import (
	"strconv"
	"unicode/utf8"
)

// Header is the XML declaration every document starts with.
const Header = `<?xml version="1.0" encoding="UTF-8"?>`

// maxDepth bounds element nesting, Response included. TwiML nests at most
// four deep (Response > Connect > Stream > Parameter); a fixed stack keeps
// Builder free of allocations.
const maxDepth = 8

// Builder writes one <Response> document. The zero value is ready to use;
// Reset starts another document, reusing a buffer.
//
// Element and attribute names are written as given: they must be valid XML
// names, which TwiML verb names written in code always are. Values and text
// are escaped (see AppendText and AppendAttr). Misuse, such as Attr after a
// child element or End with nothing open, is a programming error and panics.
type Builder struct {
	buf     []byte
	stack   [maxDepth]string // open elements, Response first
	depth   int
	begun   bool // header and <Response written
	tagOpen bool // the last start tag still lacks its '>' (attributes may follow)
	done    bool // Bytes closed the document
}

// Reset starts a new document that will be appended to dst (pass buf[:0] to
// reuse a buffer).
func (b *Builder) Reset(dst []byte) {
	*b = Builder{buf: dst}
}

// Start opens element name with attributes given as name, value pairs.
// More attributes may follow with Attr and AttrInt until the first child.
func (b *Builder) Start(name string, attrs ...string) {
	b.open(name, attrs)
	if b.depth == maxDepth {
		panic("twiml: elements nested too deep")
	}
	b.stack[b.depth] = name
	b.depth++
}

// Attr adds an attribute to the element just started.
func (b *Builder) Attr(name, value string) {
	if !b.tagOpen || b.done {
		panic("twiml: Attr " + name + " outside a start tag")
	}
	b.buf = append(b.buf, ' ')
	b.buf = append(b.buf, name...)
	b.buf = append(b.buf, '=', '"')
	b.buf = AppendAttr(b.buf, value)
	b.buf = append(b.buf, '"')
}

// AttrInt adds an integer attribute (timeout, maxLength) without the
// allocation of strconv.Itoa.
func (b *Builder) AttrInt(name string, value int) {
	if !b.tagOpen || b.done {
		panic("twiml: AttrInt " + name + " outside a start tag")
	}
	b.buf = append(b.buf, ' ')
	b.buf = append(b.buf, name...)
	b.buf = append(b.buf, '=', '"')
	b.buf = strconv.AppendInt(b.buf, int64(value), 10)
	b.buf = append(b.buf, '"')
}

// End closes the innermost open element, as <X/> if it has no content.
func (b *Builder) End() {
	if b.depth <= 1 || b.done { // Response is closed only by Bytes
		panic("twiml: End with no open element")
	}
	b.close()
}

// Text writes a complete element holding text, such as <Number> or <Say>.
// Empty text gives <X/>, as the Node library does.
func (b *Builder) Text(name, text string, attrs ...string) {
	b.open(name, attrs)
	if text == "" {
		b.buf = append(b.buf, '/', '>')
		b.tagOpen = false
		return
	}
	b.buf = append(b.buf, '>')
	b.tagOpen = false
	b.buf = AppendText(b.buf, text)
	b.buf = append(b.buf, '<', '/')
	b.buf = append(b.buf, name...)
	b.buf = append(b.buf, '>')
}

// Empty writes an element with no content, such as <Hangup/>.
func (b *Builder) Empty(name string, attrs ...string) {
	b.open(name, attrs)
	b.buf = append(b.buf, '/', '>')
	b.tagOpen = false
}

// Bytes closes every open element and returns the finished document
// appended to the slice given to Reset. Further writes panic until Reset;
// further calls to Bytes return the same document.
func (b *Builder) Bytes() []byte {
	if !b.done {
		b.begin()
		for b.depth > 0 {
			b.close()
		}
		b.done = true
	}
	return b.buf
}

// begin writes the header and opens <Response> on the first write.
func (b *Builder) begin() {
	if b.begun {
		return
	}
	b.begun = true
	b.buf = append(b.buf, Header...)
	b.buf = append(b.buf, "<Response"...)
	b.tagOpen = true
	b.stack[0] = "Response"
	b.depth = 1
}

// open writes "<name attrs" and leaves the start tag open, ending the
// parent's start tag first.
func (b *Builder) open(name string, attrs []string) {
	if b.done {
		panic("twiml: write after Bytes")
	}
	if len(attrs)%2 != 0 {
		panic("twiml: attributes of " + name + " are not name, value pairs")
	}
	b.begin()
	if b.tagOpen {
		b.buf = append(b.buf, '>')
	}
	b.buf = append(b.buf, '<')
	b.buf = append(b.buf, name...)
	b.tagOpen = true
	for i := 0; i < len(attrs); i += 2 {
		b.Attr(attrs[i], attrs[i+1])
	}
}

func (b *Builder) close() {
	b.depth--
	if b.tagOpen {
		b.buf = append(b.buf, '/', '>')
		b.tagOpen = false
	} else {
		b.buf = append(b.buf, '<', '/')
		b.buf = append(b.buf, b.stack[b.depth]...)
		b.buf = append(b.buf, '>')
	}
	b.stack[b.depth] = ""
}

// Escaping follows the Node library's XML writer (xmlbuilder), the source of
// the reference vectors:
//
//	text:       & < >  and CR as &#xD;   (" and ' stay literal)
//	attributes: & < "  and TAB, LF, CR as &#x9; &#xA; &#xD;   (> and ' stay literal)
//
// CR, and in attributes TAB and LF, are written as character references
// because a parser would otherwise normalise them away.
//
// XML 1.0 cannot represent the other C0 controls, U+FFFE, U+FFFF or invalid
// UTF-8, where the Node library throws. We must always answer Twilio with a
// document it can parse, so each such byte or code point becomes U+FFFD, the
// choice of encoding/xml.EscapeText. Replacing rather than dropping keeps the
// substitution visible in logs and never turns non-empty text into empty.

// Replacement is what AppendText and AppendAttr write for a byte or code
// point that XML 1.0 cannot carry.
const Replacement = "\uFFFD"

// AppendText appends s escaped as element content.
func AppendText(dst []byte, s string) []byte { return appendEscaped(dst, s, false) }

// AppendAttr appends s escaped as a double-quoted attribute value.
func AppendAttr(dst []byte, s string) []byte { return appendEscaped(dst, s, true) }

func appendEscaped(dst []byte, s string, attr bool) []byte {
	last := 0 // s[last:i] is pending, to be copied unchanged
	for i := 0; i < len(s); {
		c, esc, width := s[i], "", 1
		switch {
		case c > '>' && c < utf8.RuneSelf:
			// Letters and most punctuation: every byte escaped is below '>'.
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>' && !attr:
			esc = "&gt;"
		case c == '"' && attr:
			esc = "&quot;"
		case c == '\t' && attr:
			esc = "&#x9;"
		case c == '\n' && attr:
			esc = "&#xA;"
		case c == '\r':
			esc = "&#xD;"
		case c < 0x20 && c != '\t' && c != '\n':
			esc = Replacement
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
				esc = Replacement
			}
			width = n
		}
		if esc == "" {
			i += width
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		i += width
		last = i
	}
	return append(dst, s[last:]...)
}
