package queryfile

import "strings"

// sqlSpace is what SQLite's tokenizer takes for white space: only ASCII.
// Other Unicode spaces are tokens it rejects, and must reach it.
const sqlSpace = " \t\n\r\f\v"

// Statement is one SQL statement of a longer text, with the line it starts
// on, so that an error can name where it is.
type Statement struct {
	SQL  string // without the terminating semicolon
	Line int    // 1-based line of its first token in the text
}

// lexer walks SQL text the way SQLite's tokenizer sees semicolons: not
// inside quotes, identifiers in brackets or backquotes, or comments.
type lexer struct {
	s     string
	i     int
	line  int
	quote byte // the closing character of the quoted token we are in, or 0
	block bool // inside /* */
	lineC bool // inside -- comment
}

// step consumes one character and reports whether it was a semicolon that
// ends a statement, and whether it is significant (not whitespace and not
// part of a comment).
func (l *lexer) step() (end, significant bool) {
	c := l.s[l.i]
	next := byte(0)
	if l.i+1 < len(l.s) {
		next = l.s[l.i+1]
	}
	l.i++
	if c == '\n' {
		l.line++
	}
	switch {
	case l.lineC:
		l.lineC = c != '\n'
		return false, false
	case l.block:
		if c == '*' && next == '/' {
			l.i++
			l.block = false
		}
		return false, false
	case l.quote != 0:
		// A doubled quote inside a quoted token is the quote itself; the
		// scan sees it as a close and a reopen, which comes to the same.
		if c == l.quote {
			l.quote = 0
		}
		return false, true
	}
	switch c {
	case '\'', '"', '`':
		l.quote = c
	case '[':
		l.quote = ']'
	case '-':
		if next == '-' {
			l.i++
			l.lineC = true
			return false, false
		}
	case '/':
		if next == '*' {
			l.i++
			l.block = true
			return false, false
		}
	case ';':
		return true, false
	case ' ', '\t', '\n', '\r', '\f', '\v': // sqlSpace
		return false, false
	}
	return false, true
}

// Split cuts text into statements at the semicolons that end them. A
// statement starts at its first token, after any comments; empty ones are
// dropped; a last statement without a semicolon is kept, so that SQLite
// reports what is wrong with it.
func Split(text string) []Statement {
	var out []Statement
	l := &lexer{s: text, line: 1}
	start, first := 0, 0 // where the statement began; line of its first token (0: none yet)
	for l.i < len(l.s) {
		line, at := l.line, l.i
		end, significant := l.step()
		if significant && first == 0 {
			start, first = at, line
		}
		if end {
			if first != 0 {
				out = append(out, Statement{SQL: strings.Trim(text[start:l.i-1], sqlSpace), Line: first})
			}
			start, first = l.i, 0
		}
	}
	if first != 0 {
		out = append(out, Statement{SQL: strings.Trim(text[start:], sqlSpace), Line: first})
	}
	return out
}

// Complete reports whether text ends with a finished statement: its last
// significant character is a semicolon outside quotes and comments. The
// shell reads more lines until it is.
func Complete(text string) bool {
	l := &lexer{s: text, line: 1}
	ended := false
	for l.i < len(l.s) {
		end, significant := l.step()
		if end {
			ended = true
		} else if significant {
			ended = false
		}
	}
	return ended && l.quote == 0 && !l.block
}
