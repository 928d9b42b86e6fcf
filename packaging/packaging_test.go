// Package packaging holds the tests of what a release ships besides the
// binaries: the .deb and .rpm that the pinned nfpm builds from nfpm.yaml, their
// maintainer scripts, the tarball's install.sh, the osquery pack and the
// Fleet YAML. Running the shipped queries through the table code is a
// separate test's job.
package packaging

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// packQuery is a scheduled query of an osquery pack, with the keys osquery
// reads (osquery/osquery: osquery/config/packs.cpp); any other key fails the
// decoding.
type packQuery struct {
	Query       string `json:"query"`
	Interval    int    `json:"interval"`
	Description string `json:"description"`
	Value       string `json:"value"`
	Platform    string `json:"platform"`
	Version     string `json:"version"`
	Snapshot    *bool  `json:"snapshot"`
	Removed     *bool  `json:"removed"`
	Shard       int    `json:"shard"`
	Denylist    *bool  `json:"denylist"`
}

type pack struct {
	Discovery []string             `json:"discovery"`
	Queries   map[string]packQuery `json:"queries"`
	Platform  string               `json:"platform"`
	Version   string               `json:"version"`
	Shard     int                  `json:"shard"`
}

func readPack(t *testing.T) pack {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(readFile(t, "osquery/legacy_ports.conf")))
	dec.DisallowUnknownFields()
	var p pack
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("osquery/legacy_ports.conf: %v", err)
	}
	return p
}

func TestOsqueryPack(t *testing.T) {
	p := readPack(t)
	if !slices.Contains(p.Discovery, "SELECT 1 FROM osquery_extensions WHERE name = 'legacy_ports';") {
		t.Errorf("discovery %q does not gate the pack on the extension", p.Discovery)
	}
	if len(p.Queries) == 0 {
		t.Fatal("the pack has no queries")
	}
	for name, q := range p.Queries {
		if !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(name) {
			t.Errorf("query name %q: osquery logs it as pack_legacy_ports_<name>; keep it to a-z, 0-9, _", name)
		}
		if strings.TrimSpace(q.Query) == "" || q.Description == "" {
			t.Errorf("%s: query and description are required", name)
		}
		// Under a minute loads every host for little news; over a week
		// tells nothing timely.
		if q.Interval < 60 || q.Interval > 7*86400 {
			t.Errorf("%s: interval %d s is out of range", name, q.Interval)
		}
		if q.Snapshot != nil && *q.Snapshot && q.Removed != nil {
			t.Errorf("%s: removed has no meaning for a snapshot query", name)
		}
	}
}

func TestFlagsFile(t *testing.T) {
	var flags []string
	for _, line := range strings.Split(readFile(t, "osquery/legacy_ports.flags"), "\n") {
		// gflags skips blank lines and lines that start with #.
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			flags = append(flags, line)
		}
	}
	want := []string{
		"--extensions_autoload=/etc/osquery/extensions.load",
		"--extensions_timeout=10",
		"--extensions_require=legacy_ports",
	}
	if !slices.Equal(flags, want) {
		t.Errorf("flags %q, want %q", flags, want)
	}
}

// fleetPolicy and fleetQuery are the fields of Fleet's policy and query specs
// (fleetctl gitops and fleetctl apply take the same ones); any other key
// fails the decoding.
type fleetPolicy struct {
	Name        string `yaml:"name"`
	Query       string `yaml:"query"`
	Description string `yaml:"description"`
	Resolution  string `yaml:"resolution"`
	Platform    string `yaml:"platform"`
	Critical    bool   `yaml:"critical"`
}

type fleetQuery struct {
	Name               string `yaml:"name"`
	Query              string `yaml:"query"`
	Description        string `yaml:"description"`
	Interval           int    `yaml:"interval"`
	Platform           string `yaml:"platform"`
	Logging            string `yaml:"logging"`
	ObserverCanRun     bool   `yaml:"observer_can_run"`
	AutomationsEnabled bool   `yaml:"automations_enabled"`
}

type fleetExtension struct {
	Channel  string   `yaml:"channel"`
	Platform string   `yaml:"platform"`
	Labels   []string `yaml:"labels"`
}

type agentOptions struct {
	Config     map[string]any            `yaml:"config"`
	Extensions map[string]fleetExtension `yaml:"extensions"`
}

func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, path)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func checkPlatforms(t *testing.T, what, platforms string) {
	t.Helper()
	for _, p := range strings.Split(platforms, ",") {
		if !slices.Contains([]string{"darwin", "linux", "windows"}, p) {
			t.Errorf("%s: platform %q is not one of darwin, linux, windows", what, p)
		}
	}
}

func TestFleetGitOps(t *testing.T) {
	var policies []fleetPolicy
	decodeYAML(t, "fleet/lib/legacy-ports.policies.yml", &policies)
	var queries []fleetQuery
	decodeYAML(t, "fleet/lib/legacy-ports.queries.yml", &queries)
	var agent agentOptions
	decodeYAML(t, "fleet/lib/legacy-ports.agent-options.yml", &agent)

	names := map[string]bool{}
	for _, p := range policies {
		if p.Name == "" || p.Query == "" || p.Description == "" || p.Resolution == "" || names[p.Name] {
			t.Errorf("policy %q: name (unique), query, description and resolution are required", p.Name)
		}
		names[p.Name] = true
		checkPlatforms(t, p.Name, p.Platform)
	}
	// A failing query on a host without the extension counts as neither
	// pass nor fail, so a policy must single those hosts out.
	if !slices.ContainsFunc(policies, func(p fleetPolicy) bool {
		return p.Query == "SELECT 1 FROM osquery_extensions WHERE name = 'legacy_ports';"
	}) {
		t.Error("no policy checks that the extension is loaded")
	}
	if !slices.ContainsFunc(policies, func(p fleetPolicy) bool {
		return strings.HasPrefix(p.Query, "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM legacy_ports WHERE verdict = 'ghost' AND direction = 'listen')")
	}) {
		t.Error("no policy passes hosts where no ghost listens")
	}

	for _, q := range queries {
		if q.Name == "" || q.Query == "" || q.Description == "" || names[q.Name] {
			t.Errorf("query %q: name (unique), query and description are required", q.Name)
		}
		names[q.Name] = true
		checkPlatforms(t, q.Name, q.Platform)
		if !slices.Contains([]string{"snapshot", "differential", "differential_ignore_removals"}, q.Logging) {
			t.Errorf("%s: logging %q is not one Fleet knows", q.Name, q.Logging)
		}
	}

	// The scheduled queries are the pack's, with its intervals and logging.
	byQuery := map[string]packQuery{}
	for _, pq := range readPack(t).Queries {
		byQuery[pq.Query] = pq
	}
	if len(queries) != len(byQuery) {
		t.Errorf("%d Fleet queries, %d in the pack", len(queries), len(byQuery))
	}
	for _, q := range queries {
		pq, ok := byQuery[q.Query]
		if !ok {
			t.Errorf("%s is not in the osquery pack", q.Name)
			continue
		}
		logging := "differential"
		if pq.Snapshot != nil && *pq.Snapshot {
			logging = "snapshot"
		} else if pq.Removed != nil && !*pq.Removed {
			logging = "differential_ignore_removals"
		}
		if q.Interval != pq.Interval || q.Logging != logging {
			t.Errorf("%s: interval %d, logging %s; the pack says %d, %s", q.Name, q.Interval, q.Logging, pq.Interval, logging)
		}
	}

	if len(agent.Config) == 0 {
		t.Error("agent options without config: Fleet would send osquery no options")
	}
	platforms := map[string]bool{}
	for key, ext := range agent.Extensions {
		// orbit looks for <key>.ext, and make dist writes dist/fleet/<key>.ext.
		if !strings.HasPrefix(key, "legacy_ports_") || ext.Channel != "stable" {
			t.Errorf("extension %q: want a legacy_ports_ key on the stable channel", key)
		}
		if !slices.Contains([]string{"linux", "linux-arm64", "macos", "windows", "windows-arm64"}, ext.Platform) {
			t.Errorf("extension %q: platform %q is not one orbit knows", key, ext.Platform)
		}
		platforms[ext.Platform] = true
	}
	if len(platforms) != 5 {
		t.Errorf("extensions cover %d platforms, want all 5", len(platforms))
	}
}

// TestFleetApply checks that the files for fleetctl apply hold the same
// policies and queries as the GitOps files: legacy-ports.yml with the kind
// every Fleet version knows (query), legacy-ports.reports.yml with the kind
// Fleet 4.82 renamed it to (report).
func TestFleetApply(t *testing.T) {
	var policies []fleetPolicy
	decodeYAML(t, "fleet/lib/legacy-ports.policies.yml", &policies)
	var queries []fleetQuery
	decodeYAML(t, "fleet/lib/legacy-ports.queries.yml", &queries)

	for file, queryKind := range map[string]string{
		"fleet/apply/legacy-ports.yml":         "query",
		"fleet/apply/legacy-ports.reports.yml": "report",
	} {
		gotPolicies, gotQueries := readApply(t, file, queryKind)
		if !slices.Equal(gotPolicies, policies) || !slices.Equal(gotQueries, queries) {
			t.Errorf("%s and fleet/lib/ disagree", file)
		}
	}
}

// readApply decodes a fleetctl apply file whose scheduled queries are of
// kind queryKind.
func readApply(t *testing.T, file, queryKind string) ([]fleetPolicy, []fleetQuery) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, file)))
	var gotPolicies []fleetPolicy
	var gotQueries []fleetQuery
	for {
		var doc struct {
			APIVersion string    `yaml:"apiVersion"`
			Kind       string    `yaml:"kind"`
			Spec       yaml.Node `yaml:"spec"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if doc.APIVersion != "v1" {
			t.Errorf("%s: apiVersion %q, want v1", file, doc.APIVersion)
		}
		switch doc.Kind {
		case "policy":
			var p fleetPolicy
			if err := doc.Spec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			gotPolicies = append(gotPolicies, p)
		case queryKind:
			var q fleetQuery
			if err := doc.Spec.Decode(&q); err != nil {
				t.Fatal(err)
			}
			gotQueries = append(gotQueries, q)
		default:
			t.Errorf("%s: kind %q: this file holds only policies and %ss", file, doc.Kind, queryKind)
		}
	}
	return gotPolicies, gotQueries
}

// TestWindowsScripts checks what can be checked of the PowerShell scripts
// without PowerShell: the paths and the permissions osquery requires.
func TestWindowsScripts(t *testing.T) {
	install := readFile(t, "windows/install.ps1")
	for _, want := range []string{
		"'legacy_ports.ext.exe'", // never a bare .ext on Windows
		"'extensions.load'",
		"/inheritance:r",
		"/setowner",
		"*S-1-5-32-544", // Administrators
		"*S-1-5-18",     // SYSTEM
		"#Requires -RunAsAdministrator",
		// legacy-ports.exe finds legacy-ports-query.exe beside itself.
		"Copy-Binary (Join-Path $PSScriptRoot 'legacy-ports-query.exe') $queryPath",
		"$queryPath = Join-Path $cliDir 'legacy-ports-query.exe'",
		`$queryPath, "$queryPath.old"`, // removed by -Uninstall
	} {
		if !strings.Contains(install, want) {
			t.Errorf("install.ps1 lacks %q", want)
		}
	}
	if !strings.Contains(readFile(t, "windows/uninstall.ps1"), "-Uninstall") {
		t.Error("uninstall.ps1 does not run install.ps1 -Uninstall")
	}
}
