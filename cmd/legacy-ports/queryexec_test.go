package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/legacy-ports/legacy-ports/internal/cli"
)

// buildPrograms builds legacy-ports and legacy-ports-query into dir, as
// the Makefile does.
func buildPrograms(t *testing.T, dir string) (cliPath, queryPath string) {
	t.Helper()
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	cliPath, queryPath = filepath.Join(dir, "legacy-ports"+exe), filepath.Join(dir, queryProgram+exe)
	for out, pkg := range map[string]string{cliPath: ".", queryPath: "../legacy-ports-query"} {
		cmd := exec.CommandContext(t.Context(), "go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return cliPath, queryPath
}

type queryCase struct {
	name, stdin      string
	args             []string
	code             int
	stdout, inStderr string
}

// queryCases are answered by the query program alone: no table is read.
var queryCases = []queryCase{
	{"SQL argument", "", []string{"query", "SELECT 1 AS one"}, cli.ExitClean, "one\n---\n1\n", ""},
	{"SQL on stdin, flags", "SELECT 2 AS two;\n", []string{"query", "--format", "csv"}, cli.ExitClean, "-- stdin:1\ntwo\n2\n", ""},
	{"bad SQL", "", []string{"query", "SELEC 1"}, cli.ExitError, "", `legacy-ports query: near "SELEC": syntax error`},
	{"bad flag", "", []string{"query", "--bogus"}, cli.ExitError, "", "flag provided but not defined: -bogus"},
	{"help", "", []string{"query", "-h"}, cli.ExitClean, "", "legacy-ports query [--format F] --file FILE"},
}

func checkQueryCase(t *testing.T, tc queryCase, code int, stdout, stderr string) {
	t.Helper()
	if code != tc.code || stdout != tc.stdout || !strings.Contains(stderr, tc.inStderr) {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q", code, stdout, stderr, tc.code, tc.stdout, tc.inStderr)
	}
}

// TestQueryProgram runs `legacy-ports query` as users do: the built
// legacy-ports, reached through a symbolic link as packages install it,
// finds legacy-ports-query beside its real path and becomes it; and run
// in-process, it finds it on PATH and runs it as a child.
func TestQueryProgram(t *testing.T) {
	bin := t.TempDir()
	cliPath, _ := buildPrograms(t, bin)
	link := filepath.Join(t.TempDir(), filepath.Base(cliPath))
	if err := os.Symlink(cliPath, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // only beside: nothing on PATH

	t.Run("built, through a link", func(t *testing.T) {
		for _, tc := range queryCases {
			t.Run(tc.name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				cmd := exec.CommandContext(t.Context(), link, tc.args...)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(tc.stdin), &stdout, &stderr
				var exit *exec.ExitError
				if err := cmd.Run(); err != nil && !errors.As(err, &exit) {
					t.Fatal(err)
				}
				code := cmd.ProcessState.ExitCode()
				checkQueryCase(t, tc, code, stdout.String(), stderr.String())
			})
		}
	})

	t.Run("in-process, on PATH", func(t *testing.T) {
		t.Setenv("PATH", bin)
		for _, tc := range queryCases {
			t.Run(tc.name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run(t.Context(), tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
				checkQueryCase(t, tc, code, stdout.String(), stderr.String())
			})
		}
	})

	t.Run("missing", func(t *testing.T) {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		self, err = filepath.EvalSymlinks(self)
		if err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "query", "SELECT 1")
		want := "not found at " + filepath.Join(filepath.Dir(self), queryProgram)
		if code != cli.ExitError || stdout != "" || !strings.Contains(stderr, want) || !strings.Contains(stderr, "nor on PATH") {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and a message with %q and PATH", code, stdout, stderr, want)
		}
	})
}

// TestHelpListsQuery: query stays a command of legacy-ports.
func TestHelpListsQuery(t *testing.T) {
	code, stdout, _ := runCLI(t, "--help")
	if code != cli.ExitClean || !strings.Contains(stdout, "\n  query SQL ") {
		t.Errorf("exit %d, help without query:\n%s", code, stdout)
	}
}

// TestDependencies keeps SQLite in legacy-ports-query and osquery-go in the
// extension: legacy-ports links neither, on any shipped platform. That
// legacy-ports-query does link SQLite shows that the listing works.
func TestDependencies(t *testing.T) {
	deps := func(goos, pkg string) []string {
		cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s for %s: %v", pkg, goos, err)
		}
		return strings.Fields(string(out))
	}
	banned := []string{"modernc.org/", "github.com/osquery/osquery-go", "github.com/apache/thrift", "go.opentelemetry.io/"}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, p := range deps(goos, ".") {
			for _, b := range banned {
				if strings.HasPrefix(p, b) {
					t.Errorf("%s: legacy-ports links %s", goos, p)
				}
			}
		}
		found := false
		for _, p := range deps(goos, "../legacy-ports-query") {
			found = found || p == "modernc.org/sqlite"
		}
		if !found {
			t.Errorf("%s: legacy-ports-query does not link modernc.org/sqlite", goos)
		}
	}
}
