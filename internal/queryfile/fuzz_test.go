package queryfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// seed adds the good files with the given extensions to a fuzzer's corpus.
func seed(f *testing.F, exts ...string) {
	err := filepath.WalkDir(good, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, ext := range exts {
			if filepath.Ext(path) == ext {
				data, err := os.ReadFile(path)
				f.Add(string(data))
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
}

// absent is a directory that does not exist, for the fuzzed files: what
// they name beside them is not there, and nothing is created for each input.
const absent = "no-such-dir"

// checkPlaced fails unless every query is named, holds a statement, and is
// placed on a line of path that exists.
func checkPlaced(t *testing.T, path, text string, qs []Query) {
	t.Helper()
	lines := strings.Count(text, "\n") + 1
	for _, q := range qs {
		file, line, ok := strings.Cut(q.Where, path+":")
		n, err := strconv.Atoi(line)
		if !ok || file != "" || err != nil || n < 1 || n > lines {
			t.Fatalf("query %q placed at %q, outside %s (%d lines)", q.Name, q.Where, path, lines)
		}
		if q.Name == "" || strings.Trim(q.SQL, sqlSpace) == "" || len(Split(q.SQL)) != 1 {
			t.Fatalf("query %q at %s: SQL %q is not one statement", q.Name, q.Where, q.SQL)
		}
	}
}

// references reports whether text may name a device file, which never
// ends: path: in Fleet files and packs in osquery configurations may name
// any file.
func references(text string) bool {
	return strings.Contains(text, "/dev") || strings.Contains(text, "/proc") || strings.Contains(text, "/sys")
}

// FuzzSplit checks the splitter on any text: each statement is found in the
// text, in order, on the line it says, and is trimmed and not empty.
func FuzzSplit(f *testing.F) {
	seed(f, ".sql")
	for _, s := range []string{"SELECT 'a;b'; SELECT \"c;\" -- d;\n/* e; */ SELECT [f;]", "SELECT 'oops", "SELECT 1; /* open", ";;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		from := 0
		for _, s := range Split(text) {
			// Look from the start of its line: the same text may be in a
			// comment before it.
			lineStart := 0
			for range s.Line - 1 {
				lineStart += strings.IndexByte(text[lineStart:], '\n') + 1
			}
			from = max(from, lineStart)
			i := strings.Index(text[from:], s.SQL)
			if s.SQL == "" || s.SQL != strings.Trim(s.SQL, sqlSpace) || i < 0 {
				t.Fatalf("statement %q not found, in order, in %q", s.SQL, text)
			}
			if line := strings.Count(text[:from+i], "\n") + 1; line != s.Line {
				t.Fatalf("statement %q: line %d, want %d", s.SQL, s.Line, line)
			}
			from += i + len(s.SQL)
		}
		_ = Complete(text)
	})
}

// FuzzSQL feeds any text to the .sql reader: every statement it finds is
// placed on a line of the file.
func FuzzSQL(f *testing.F) {
	seed(f, ".sql")
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join("dir", "f.sql")
		qs := SQL(path, []byte(text))
		checkPlaced(t, path, text, qs)
		for _, q := range qs {
			if q.Name != q.Where {
				t.Fatalf("statement named %q at %q", q.Name, q.Where)
			}
		}
	})
}

// FuzzPack feeds any text to the reader of osquery packs and
// configurations: it may reject it, never panic, and what it accepts is
// placed in the file.
func FuzzPack(f *testing.F) {
	seed(f, ".conf")
	f.Fuzz(func(t *testing.T, text string) {
		if references(text) {
			t.Skip()
		}
		path := filepath.Join(absent, "f.conf")
		qs, err := Pack(path, []byte(text))
		// A pack named by path has its queries placed in its own file.
		if err == nil && !strings.Contains(text, "packs") {
			checkPlaced(t, path, text, qs)
		}
	})
}

// FuzzFleet feeds any text to the Fleet YAML reader: it may reject it,
// never panic, and what it accepts is placed in the file.
func FuzzFleet(f *testing.F) {
	seed(f, ".yml")
	f.Fuzz(func(t *testing.T, text string) {
		if references(text) {
			t.Skip()
		}
		path := filepath.Join(absent, "f.yml")
		qs, err := Fleet(path, []byte(text))
		// A file named by path: has its queries placed in it.
		if err == nil && !strings.Contains(text, "path") {
			checkPlaced(t, path, text, qs)
		}
	})
}
