package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/macho"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const epoch = 1700000000

// thinMachO is the smallest Mach-O file debug/macho reads: a 64-bit header
// with no load commands, followed by a tag that makes each input distinct.
func thinMachO(cpu macho.Cpu, sub uint32, tag string) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, []uint32{macho.Magic64, uint32(cpu), sub, uint32(macho.TypeExec), 0, 0, 0, 0})
	b.WriteString(tag)
	return b.Bytes()
}

// fakeDist lays out what `make build-all` leaves in dist/, with stand-ins
// for the binaries.
func fakeDist(t *testing.T) string {
	t.Helper()
	dist := t.TempDir()
	for _, p := range platforms {
		dir := filepath.Join(dist, p.os+"-"+p.arch)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		exe := ""
		if p.os == "windows" {
			exe = ".exe"
		}
		for _, name := range programs {
			data := []byte(name + " " + p.os + "/" + p.arch)
			if p.os == "darwin" {
				cpu, sub := macho.CpuAmd64, uint32(3)
				if p.arch == "arm64" {
					cpu, sub = macho.CpuArm64, 0
				}
				data = thinMachO(cpu, sub, string(data))
			}
			if err := os.WriteFile(filepath.Join(dir, name+exe), data, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dist
}

func release(t *testing.T, args ...string) {
	t.Helper()
	if err := run(append([]string{"-root", "../.."}, args...)); err != nil {
		t.Fatal(err)
	}
}

func releaseAll(t *testing.T, dist string) {
	t.Helper()
	release(t, "-dist", dist, "-version", "1.2.3", "-mtime", strconv.Itoa(epoch))
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestReproducible builds the assets twice from the same inputs, in other
// directories and with other file times, and expects the same checksums.
func TestReproducible(t *testing.T) {
	a, b := fakeDist(t), fakeDist(t)
	later := time.Now().Add(time.Hour)
	err := filepath.WalkDir(b, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(path, later, later)
	})
	if err != nil {
		t.Fatal(err)
	}
	releaseAll(t, a)
	releaseAll(t, b)
	sumsA, sumsB := read(t, filepath.Join(a, "SHA256SUMS")), read(t, filepath.Join(b, "SHA256SUMS"))
	if !bytes.Equal(sumsA, sumsB) {
		t.Errorf("two runs differ:\n%s\n%s", sumsA, sumsB)
	}
	// 6 archives and 5 Fleet files, each checked against its sum.
	lines := strings.Split(strings.TrimSpace(string(sumsA)), "\n")
	if len(lines) != 11 {
		t.Errorf("SHA256SUMS has %d lines, want 11:\n%s", len(lines), sumsA)
	}
	for _, line := range lines {
		sum, name, ok := strings.Cut(line, "  ")
		h := sha256.Sum256(read(t, filepath.Join(a, name)))
		if !ok || sum != hex.EncodeToString(h[:]) {
			t.Errorf("wrong line %q", line)
		}
	}
	if !slices.IsSortedFunc(lines, func(x, y string) int { return strings.Compare(x[66:], y[66:]) }) {
		t.Error("SHA256SUMS is not sorted by name")
	}
}

func TestSumsOnlyAddsPackages(t *testing.T) {
	dist := fakeDist(t)
	releaseAll(t, dist)
	if err := os.WriteFile(filepath.Join(dist, "legacy-ports_1.2.3_amd64.deb"), []byte("deb"), 0o644); err != nil {
		t.Fatal(err)
	}
	release(t, "-dist", dist, "-sums-only")
	if sums := string(read(t, filepath.Join(dist, "SHA256SUMS"))); !strings.Contains(sums, "  legacy-ports_1.2.3_amd64.deb\n") {
		t.Errorf("the .deb is not in SHA256SUMS:\n%s", sums)
	}
}

type archived struct {
	name  string
	mode  os.FileMode
	data  []byte
	owner string
	mtime int64
}

func readTarGz(t *testing.T, path string) []archived {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(read(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() {
		t.Errorf("gzip header carries a name %q or a time %v", gz.Name, gz.ModTime)
	}
	var out []archived
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		owner := fmt.Sprintf("%d:%d %s:%s", h.Uid, h.Gid, h.Uname, h.Gname)
		out = append(out, archived{h.Name, os.FileMode(h.Mode), data, owner, h.ModTime.Unix()})
	}
}

func TestTarball(t *testing.T) {
	dist := fakeDist(t)
	releaseAll(t, dist)
	for _, goos := range []string{"linux", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			top := "legacy-ports-1.2.3-" + goos + "-arm64/"
			entries := readTarGz(t, filepath.Join(dist, "legacy-ports-1.2.3-"+goos+"-arm64.tar.gz"))
			doc := "../docs/install-linux.md"
			if goos == "darwin" {
				doc = "../docs/install-macos.md"
			}
			want := map[string]struct {
				mode os.FileMode
				data []byte
			}{
				top:                                {0o755, nil},
				top + "osquery/":                   {0o755, nil},
				top + "legacy_ports.ext":           {0o755, read(t, filepath.Join(dist, goos+"-arm64", "legacy_ports.ext"))},
				top + "legacy-ports":               {0o755, read(t, filepath.Join(dist, goos+"-arm64", "legacy-ports"))},
				top + "legacy-ports-query":         {0o755, read(t, filepath.Join(dist, goos+"-arm64", "legacy-ports-query"))},
				top + "install.sh":                 {0o755, read(t, "../unix/install.sh")},
				top + "uninstall.sh":               {0o755, read(t, "../unix/uninstall.sh")},
				top + "extensions-load.sh":         {0o755, read(t, "../scripts/extensions-load.sh")},
				top + "INSTALL.md":                 {0o644, read(t, doc)},
				top + "README.md":                  {0o644, read(t, "../../README.md")},
				top + "osquery/legacy_ports.conf":  {0o644, read(t, "../osquery/legacy_ports.conf")},
				top + "osquery/legacy_ports.flags": {0o644, read(t, "../osquery/legacy_ports.flags")},
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.name)
				w, ok := want[e.name]
				if !ok {
					t.Errorf("unexpected entry %s", e.name)
					continue
				}
				if e.mode != w.mode || !bytes.Equal(e.data, w.data) {
					t.Errorf("%s: mode %v, %d bytes; want %v, %d bytes", e.name, e.mode, len(e.data), w.mode, len(w.data))
				}
				if e.owner != "0:0 root:root" || e.mtime != epoch {
					t.Errorf("%s: owner %s, time %d; want 0:0 root:root, %d", e.name, e.owner, e.mtime, epoch)
				}
			}
			if len(entries) != len(want) {
				t.Errorf("%d entries, want %d: %q", len(entries), len(want), names)
			}
		})
	}
}

func TestZip(t *testing.T) {
	dist := fakeDist(t)
	releaseAll(t, dist)
	zr, err := zip.OpenReader(filepath.Join(dist, "legacy-ports-1.2.3-windows-amd64.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	top := "legacy-ports-1.2.3-windows-amd64/"
	want := map[string]os.FileMode{
		top + "INSTALL.md":                 0o644,
		top + "README.md":                  0o644,
		top + "install.ps1":                0o644,
		top + "legacy-ports.exe":           0o755,
		top + "legacy-ports-query.exe":     0o755,
		top + "legacy_ports.ext.exe":       0o755,
		top + "osquery/legacy_ports.conf":  0o644,
		top + "osquery/legacy_ports.flags": 0o644,
		top + "uninstall.ps1":              0o644,
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if m, ok := want[f.Name]; !ok || f.Mode() != m {
			t.Errorf("%s: mode %v, want %v (listed: %v)", f.Name, f.Mode(), m, ok)
		}
		if !f.Modified.Equal(time.Unix(epoch, 0)) {
			t.Errorf("%s: time %v, want %v", f.Name, f.Modified, time.Unix(epoch, 0).UTC())
		}
	}
	if len(names) != len(want) || !slices.IsSorted(names) {
		t.Errorf("entries %q: want the %d files, sorted", names, len(want))
	}
}

func TestUniversalAndFleet(t *testing.T) {
	dist := fakeDist(t)
	releaseAll(t, dist)
	fat, err := macho.OpenFat(filepath.Join(dist, "fleet", "legacy_ports_macos.ext"))
	if err != nil {
		t.Fatal(err)
	}
	defer fat.Close()
	raw := read(t, filepath.Join(dist, "fleet", "legacy_ports_macos.ext"))
	thin := map[macho.Cpu]string{macho.CpuAmd64: "darwin-amd64", macho.CpuArm64: "darwin-arm64"}
	if len(fat.Arches) != 2 {
		t.Fatalf("%d slices, want 2", len(fat.Arches))
	}
	for _, a := range fat.Arches {
		if a.Offset%(1<<fatAlign) != 0 || a.Align != fatAlign {
			t.Errorf("%v slice at %d, align %d: want a multiple of %d", a.Cpu, a.Offset, a.Align, 1<<fatAlign)
		}
		want := read(t, filepath.Join(dist, thin[a.Cpu], "legacy_ports.ext"))
		if !bytes.Equal(raw[a.Offset:a.Offset+a.Size], want) {
			t.Errorf("%v slice differs from %s", a.Cpu, thin[a.Cpu])
		}
	}
	for _, f := range fleetTargets {
		fi, err := os.Stat(filepath.Join(dist, "fleet", f.to))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, %v; want an executable", f.to, fi, err)
			continue
		}
		if !bytes.Equal(read(t, filepath.Join(dist, "fleet", f.to)), read(t, filepath.Join(dist, f.from))) {
			t.Errorf("%s is not %s", f.to, f.from)
		}
		// orbit looks for <key>.ext (<key>.ext.exe on Windows).
		if !strings.HasSuffix(f.to, ".ext") && !strings.HasSuffix(f.to, ".ext.exe") {
			t.Errorf("%s: Fleet wants .ext or .ext.exe", f.to)
		}
	}
}

func TestMissingBuild(t *testing.T) {
	for _, name := range []string{"legacy-ports.exe", "legacy-ports-query.exe"} {
		t.Run(name, func(t *testing.T) {
			dist := fakeDist(t)
			if err := os.Remove(filepath.Join(dist, "windows-arm64", name)); err != nil {
				t.Fatal(err)
			}
			err := run([]string{"-root", "../..", "-dist", dist, "-version", "1.2.3", "-mtime", "0"})
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("a missing binary gave %v, want an error naming it", err)
			}
		})
	}
}

// TestUniversalPrograms: every program gets its universal macOS binary,
// made of both darwin builds.
func TestUniversalPrograms(t *testing.T) {
	dist := fakeDist(t)
	releaseAll(t, dist)
	for _, name := range programs {
		fat, err := macho.OpenFat(filepath.Join(dist, "darwin-universal", name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(fat.Arches) != 2 || fat.Arches[0].Cpu == fat.Arches[1].Cpu {
			t.Errorf("%s: %d slices, want amd64 and arm64", name, len(fat.Arches))
		}
		fat.Close()
	}
}

// TestFleetTargetsMatchAgentOptions: every file dist/fleet/ gets is named
// after a key of the shipped agent options, and every key has its file.
func TestFleetTargetsMatchAgentOptions(t *testing.T) {
	var opts struct {
		Extensions map[string]any `yaml:"extensions"`
	}
	if err := yaml.Unmarshal(read(t, "../fleet/lib/legacy-ports.agent-options.yml"), &opts); err != nil {
		t.Fatal(err)
	}
	var keys, files []string
	for k := range opts.Extensions {
		keys = append(keys, k)
	}
	for _, f := range fleetTargets {
		files = append(files, strings.TrimSuffix(strings.TrimSuffix(f.to, ".exe"), ".ext"))
	}
	slices.Sort(keys)
	slices.Sort(files)
	if !slices.Equal(keys, files) {
		t.Errorf("agent options keys %q, Fleet files %q", keys, files)
	}
}
