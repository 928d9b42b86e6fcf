//go:build !windows

// The package tests need sh and the POSIX file modes that osquery checks.

package packaging

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const (
	extPath  = "/usr/lib/osquery/extensions/legacy_ports.ext"
	loadPath = "/etc/osquery/extensions.load"
	// A version no real release has, so that a stale package cannot pass.
	testVersion = "9.8.7"
)

var archs = []string{"amd64", "arm64"}

// builds holds the packages nfpm made, built once for all tests.
var builds = sync.OnceValues(buildPackages)

type built struct {
	dir  string            // holds the packages and the fake binaries
	pkgs map[string]string // "deb/amd64" -> path
}

// fakeBinary is what the tests package in place of each real binary: it
// names its architecture, so a test can tell that each package holds its own.
func fakeBinary(name, arch string) []byte {
	return fmt.Appendf(nil, "#!/bin/sh\necho %s %s\n", name, arch)
}

// buildPackages runs the pinned nfpm (tools/nfpm/go.mod) on nfpm.yaml for
// every format and architecture, as `make package` does, over fake binaries:
// building the real ones for two architectures would only slow the test.
func buildPackages() (*built, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "legacy-ports-packaging-")
	if err != nil {
		return nil, err
	}
	b := &built{dir: dir, pkgs: map[string]string{}}
	for _, arch := range archs {
		bin := filepath.Join(dir, "dist", "linux-"+arch)
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return nil, err
		}
		for name := range binaryPaths {
			if err := os.WriteFile(filepath.Join(bin, name), fakeBinary(name, arch), 0o755); err != nil {
				return nil, err
			}
		}
		for _, format := range []string{"deb", "rpm"} {
			out := filepath.Join(dir, "out", format+"-"+arch)
			if err := os.MkdirAll(out, 0o755); err != nil {
				return nil, err
			}
			cmd := exec.Command("go", "tool", "-modfile=tools/nfpm/go.mod", "nfpm", "package",
				"--config", "packaging/nfpm.yaml", "--packager", format, "--target", out+"/")
			cmd.Dir = root
			// CGO_ENABLED=0 as in the Makefile, so both share one build of nfpm.
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "SOURCE_DATE_EPOCH=1700000000",
				"PKG_ARCH="+arch, "PKG_VERSION="+testVersion, "PKG_DIST="+filepath.Join(dir, "dist"))
			if msg, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("nfpm %s %s: %w\n%s", format, arch, err, msg)
			}
			found, err := filepath.Glob(filepath.Join(out, "*."+format))
			if err != nil || len(found) != 1 {
				return nil, fmt.Errorf("nfpm %s %s made %v", format, arch, found)
			}
			b.pkgs[format+"/"+arch] = found[0]
		}
	}
	return b, nil
}

func packages(t *testing.T) *built {
	t.Helper()
	b, err := builds()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMain(m *testing.M) {
	code := m.Run()
	if b, err := builds(); err == nil && b != nil {
		os.RemoveAll(b.dir)
	}
	os.Exit(code)
}

func needCommand(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed; this test needs it", name)
	}
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// entry is one file of a package as the tests compare them.
type entry struct {
	mode  string // as ls prints it: -rwxr-xr-x, drwxr-xr-x
	owner string // user/group
}

// binaryPaths are where the packages install each binary of dist/linux-ARCH:
// legacy-ports-query beside legacy-ports, where legacy-ports looks first.
var binaryPaths = map[string]string{
	"legacy_ports.ext":   extPath,
	"legacy-ports":       "/usr/bin/legacy-ports",
	"legacy-ports-query": "/usr/bin/legacy-ports-query",
}

// wantEntries are the files and directories both packages must hold, and
// nothing under /etc: the admin's file is optional and not ours to ship.
var wantEntries = map[string]entry{
	"/usr/lib/osquery":                                        {"drwxr-xr-x", "root/root"},
	"/usr/lib/osquery/extensions":                             {"drwxr-xr-x", "root/root"},
	extPath:                                                   {"-rwxr-xr-x", "root/root"},
	"/usr/bin/legacy-ports":                                   {"-rwxr-xr-x", "root/root"},
	"/usr/bin/legacy-ports-query":                             {"-rwxr-xr-x", "root/root"},
	"/usr/lib/legacy-ports/extensions-load.sh":                {"-rwxr-xr-x", "root/root"},
	"/usr/share/doc/legacy-ports/INSTALL.md":                  {"-rw-r--r--", "root/root"},
	"/usr/share/doc/legacy-ports/README.md":                   {"-rw-r--r--", "root/root"},
	"/usr/share/doc/legacy-ports/examples/legacy_ports.conf":  {"-rw-r--r--", "root/root"},
	"/usr/share/doc/legacy-ports/examples/legacy_ports.flags": {"-rw-r--r--", "root/root"},
}

func checkEntries(t *testing.T, got map[string]entry) {
	t.Helper()
	for path, want := range wantEntries {
		if g, ok := got[path]; !ok {
			t.Errorf("%s is missing", path)
		} else if g != want {
			t.Errorf("%s is %s %s, want %s %s", path, g.mode, g.owner, want.mode, want.owner)
		}
	}
	for path, g := range got {
		if strings.HasPrefix(path, "/etc") {
			t.Errorf("%s: the package must not ship files under /etc", path)
		}
		if g.owner != "root/root" {
			t.Errorf("%s is owned by %s, want root/root", path, g.owner)
		}
		// osqueryd refuses an extension in a sticky directory.
		if strings.HasPrefix(g.mode, "d") && strings.ContainsAny(g.mode[9:], "tT") {
			t.Errorf("%s is sticky (%s)", path, g.mode)
		}
		// Only this one file is an extension, and it has the name osquery
		// autoloads on Linux.
		if dir := filepath.Dir(path); dir == "/usr/lib/osquery/extensions" && path != extPath {
			t.Errorf("unexpected file %s among the extensions", path)
		}
	}
	if filepath.Ext(extPath) != ".ext" {
		t.Errorf("%s must end in .ext", extPath)
	}
}

// dpkg-deb -c prints: mode owner/group size date time ./path [-> target].
var debLine = regexp.MustCompile(`^(\S{10})\s+(\S+/\S+)\s+\d+\s+\S+\s+\S+\s+\.(/\S*)$`)

func TestDebContents(t *testing.T) {
	needCommand(t, "dpkg-deb")
	b := packages(t)
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			deb := b.pkgs["deb/"+arch]
			got := map[string]entry{}
			for _, line := range strings.Split(strings.TrimSpace(run(t, nil, "dpkg-deb", "-c", deb)), "\n") {
				m := debLine.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("cannot read dpkg-deb -c line %q", line)
				}
				got[strings.TrimSuffix(m[3], "/")] = entry{m[1], m[2]}
			}
			checkEntries(t, got)

			fields := map[string]string{"Package": "legacy-ports", "Architecture": arch, "Version": testVersion}
			for field, want := range fields {
				if v := strings.TrimSpace(run(t, nil, "dpkg-deb", "-f", deb, field)); v != want {
					t.Errorf("%s is %q, want %q", field, v, want)
				}
			}

			root := t.TempDir()
			run(t, nil, "dpkg-deb", "-x", deb, root)
			for name, path := range binaryPaths {
				data, err := os.ReadFile(filepath.Join(root, path))
				if err != nil || !bytes.Equal(data, fakeBinary(name, arch)) {
					t.Errorf("%s does not hold the %s build of %s (%v)", path, arch, name, err)
				}
			}
		})
	}
}

// rpmArch is rpm's name for each Go architecture.
var rpmArch = map[string]string{"amd64": "x86_64", "arm64": "aarch64"}

func TestRPMContents(t *testing.T) {
	b := packages(t)
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			p, err := readRPM(b.pkgs["rpm/"+arch])
			if err != nil {
				t.Fatal(err)
			}
			if p.str(tagName) != "legacy-ports" || p.str(tagArch) != rpmArch[arch] {
				t.Errorf("name %q, arch %q; want legacy-ports, %s", p.str(tagName), p.str(tagArch), rpmArch[arch])
			}
			got := map[string]entry{}
			for _, f := range p.files {
				got[f.path] = entry{f.lsMode(), f.user + "/" + f.group}
			}
			checkEntries(t, got)
			for name, path := range binaryPaths {
				for _, f := range p.files {
					if f.path == path && !bytes.Equal(f.data, fakeBinary(name, arch)) {
						t.Errorf("%s does not hold the %s build of %s", path, arch, name)
					}
				}
			}
			// One script per hook serves both formats.
			for tag, src := range map[int]string{tagPostIn: "scripts/postinstall.sh", tagPreUn: "scripts/preremove.sh"} {
				want, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				if strings.TrimSpace(p.str(tag)) != strings.TrimSpace(string(want)) {
					t.Errorf("rpm scriptlet %d is not %s", tag, src)
				}
			}
			for _, tag := range []int{tagPostInProg, tagPreUnProg} {
				if prog := p.str(tag); prog != "/bin/sh" {
					t.Errorf("scriptlet interpreter %d is %q, want /bin/sh", tag, prog)
				}
			}
		})
	}
}

// scriptRunner runs one package's maintainer scripts against a temporary
// root, as dpkg or rpm would with the given arguments.
type scriptRunner struct {
	root    string
	install string // deb postinst / rpm %post
	remove  string // deb prerm / rpm %preun
}

func (s scriptRunner) run(t *testing.T, script, arg string) {
	t.Helper()
	run(t, []string{"LEGACY_PORTS_ROOT=" + s.root}, "sh", script, arg)
}

func (s scriptRunner) load(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.root, loadPath))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (s scriptRunner) setLoad(t *testing.T, content string, mode os.FileMode) {
	t.Helper()
	path := filepath.Join(s.root, loadPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func debRunner(t *testing.T, deb string) scriptRunner {
	t.Helper()
	needCommand(t, "dpkg-deb")
	root, ctrl := t.TempDir(), t.TempDir()
	run(t, nil, "dpkg-deb", "-x", deb, root)
	run(t, nil, "dpkg-deb", "-e", deb, ctrl)
	return scriptRunner{root: root, install: filepath.Join(ctrl, "postinst"), remove: filepath.Join(ctrl, "prerm")}
}

func rpmRunner(t *testing.T, rpm string) scriptRunner {
	t.Helper()
	p, err := readRPM(rpm)
	if err != nil {
		t.Fatal(err)
	}
	root, scripts := t.TempDir(), t.TempDir()
	if err := p.unpack(root); err != nil {
		t.Fatal(err)
	}
	s := scriptRunner{root: root, install: filepath.Join(scripts, "post"), remove: filepath.Join(scripts, "preun")}
	for path, tag := range map[string]int{s.install: tagPostIn, s.remove: tagPreUn} {
		if err := os.WriteFile(path, []byte(p.str(tag)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestMaintainerScripts(t *testing.T) {
	b := packages(t)
	// The arguments dpkg and rpm pass for each event.
	type args struct{ install, reinstall, upgradeIn, upgradeOut, remove string }
	formats := []struct {
		name   string
		runner func(*testing.T) scriptRunner
		args   args
		keep   []string // other prerm/%preun arguments that must keep the line
	}{
		{"deb", func(t *testing.T) scriptRunner { return debRunner(t, b.pkgs["deb/amd64"]) },
			args{install: "configure", reinstall: "configure", upgradeIn: "configure", upgradeOut: "upgrade", remove: "remove"},
			[]string{"failed-upgrade", "deconfigure"}},
		{"rpm", func(t *testing.T) scriptRunner { return rpmRunner(t, b.pkgs["rpm/amd64"]) },
			// %post gets the number of versions installed after it, %preun
			// the number left after it.
			args{install: "1", reinstall: "1", upgradeIn: "2", upgradeOut: "1", remove: "0"},
			[]string{"2"}},
	}
	const admin = "# this host's extensions\n/opt/acme/acme_inventory.ext"
	for _, f := range formats {
		t.Run(f.name+"/fresh host", func(t *testing.T) {
			s := f.runner(t)
			s.run(t, s.install, f.args.install)
			s.run(t, s.install, f.args.reinstall)
			if got, want := s.load(t), extPath+"\n"; got != want {
				t.Errorf("after installing twice on a host without extensions.load: %q, want %q", got, want)
			}
			for path, want := range map[string]os.FileMode{"/etc/osquery": os.ModeDir | 0o755, loadPath: 0o644} {
				if fi, err := os.Stat(filepath.Join(s.root, path)); err != nil || fi.Mode() != want {
					t.Errorf("%s: %v %v, want mode %v", path, fi.Mode(), err, want)
				}
			}
			s.run(t, s.remove, f.args.remove)
			if got := s.load(t); got != "" {
				t.Errorf("after removal: %q, want an empty file", got)
			}
		})
		t.Run(f.name+"/admin's lines", func(t *testing.T) {
			s := f.runner(t)
			// No final newline, and a mode of the admin's choosing.
			s.setLoad(t, admin, 0o640)
			s.run(t, s.install, f.args.install)
			s.run(t, s.install, f.args.reinstall)
			withOurs := admin + "\n" + extPath + "\n"
			if got := s.load(t); got != withOurs {
				t.Fatalf("after install: %q, want %q", got, withOurs)
			}
			for _, arg := range append([]string{f.args.upgradeOut}, f.keep...) {
				s.run(t, s.remove, arg)
				if got := s.load(t); got != withOurs {
					t.Errorf("removal script with %q (an upgrade) changed the file to %q", arg, got)
				}
			}
			s.run(t, s.install, f.args.upgradeIn)
			if got := s.load(t); got != withOurs {
				t.Errorf("after an upgrade: %q, want %q", got, withOurs)
			}
			s.run(t, s.remove, f.args.remove)
			if got, want := s.load(t), admin+"\n"; got != want {
				t.Errorf("after removal: %q, want the admin's lines %q", got, want)
			}
			if fi, err := os.Stat(filepath.Join(s.root, loadPath)); err != nil || fi.Mode() != 0o640 {
				t.Errorf("removal changed the file's mode to %v (%v), want 0640", fi.Mode(), err)
			}
		})
		t.Run(f.name+"/lines like ours", func(t *testing.T) {
			s := f.runner(t)
			// osquery trims each line, so the blank-padded one is ours; the
			// others only look like it and are the admin's.
			content := "  " + extPath + "\t\n# " + extPath + "\n" + extPath + ".disabled\n"
			s.setLoad(t, content, 0o644)
			s.run(t, s.install, f.args.install)
			if got := s.load(t); got != content {
				t.Errorf("install added a line next to a blank-padded one: %q", got)
			}
			s.run(t, s.remove, f.args.remove)
			if got, want := s.load(t), "# "+extPath+"\n"+extPath+".disabled\n"; got != want {
				t.Errorf("after removal: %q, want %q", got, want)
			}
		})
	}
}

// TestInstallScript runs the release archives' install.sh and uninstall.sh,
// from a directory laid out as in the tarball, against a temporary root, for
// the Linux and the macOS layout.
func TestInstallScript(t *testing.T) {
	layouts := []struct{ os, ext, load string }{
		{"Linux", extPath, loadPath},
		{"Darwin", "/usr/local/osquery_extensions/legacy_ports.ext", "/var/osquery/extensions.load"},
	}
	for _, l := range layouts {
		t.Run(l.os, func(t *testing.T) {
			dir, root := t.TempDir(), t.TempDir()
			for src, name := range map[string]string{
				"unix/install.sh": "install.sh", "unix/uninstall.sh": "uninstall.sh",
				"scripts/extensions-load.sh": "extensions-load.sh",
			} {
				data, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name := range binaryPaths {
				// The unpacked archive's files need not be root's or 0755.
				if err := os.WriteFile(filepath.Join(dir, name), fakeBinary(name, "any"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := []string{"LEGACY_PORTS_ROOT=" + root, "LEGACY_PORTS_OS=" + l.os}
			load := filepath.Join(root, l.load)
			if err := os.MkdirAll(filepath.Dir(load), 0o755); err != nil {
				t.Fatal(err)
			}
			const admin = "/opt/acme/acme_inventory.ext\n"
			if err := os.WriteFile(load, []byte(admin), 0o644); err != nil {
				t.Fatal(err)
			}

			run(t, env, "sh", filepath.Join(dir, "install.sh"))
			run(t, env, "sh", filepath.Join(dir, "install.sh"))
			if got, want := readFile(t, load), admin+l.ext+"\n"; got != want {
				t.Errorf("extensions.load after installing twice: %q, want %q", got, want)
			}
			for _, path := range []string{l.ext, "/usr/local/bin/legacy-ports", "/usr/local/bin/legacy-ports-query"} {
				fi, err := os.Stat(filepath.Join(root, path))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode() != 0o755 {
					t.Errorf("%s has mode %v, want 0755", path, fi.Mode())
				}
				if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && (st.Uid != 0 || st.Gid != 0) {
					t.Errorf("%s is owned by %d:%d, want 0:0", path, st.Uid, st.Gid)
				}
			}
			if fi, err := os.Stat(filepath.Join(root, filepath.Dir(l.ext))); err != nil || fi.Mode()&os.ModeSticky != 0 {
				t.Errorf("extension directory: %v %v", fi.Mode(), err)
			}

			run(t, env, "sh", filepath.Join(dir, "uninstall.sh"))
			if got := readFile(t, load); got != admin {
				t.Errorf("extensions.load after uninstall: %q, want the admin's %q", got, admin)
			}
			for _, path := range []string{l.ext, "/usr/local/bin/legacy-ports", "/usr/local/bin/legacy-ports-query"} {
				if _, err := os.Stat(filepath.Join(root, path)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s is still there after uninstall (%v)", path, err)
				}
			}
		})
	}
	t.Run("sticky directory", func(t *testing.T) {
		dir, root := t.TempDir(), t.TempDir()
		extDir := filepath.Join(root, filepath.Dir(extPath))
		if err := os.MkdirAll(extDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(extDir, 0o755|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile("unix/install.sh")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "install.sh"), data, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", filepath.Join(dir, "install.sh"))
		cmd.Env = append(os.Environ(), "LEGACY_PORTS_ROOT="+root, "LEGACY_PORTS_OS=Linux")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "sticky") {
			t.Errorf("install.sh into a sticky directory: %v, %s; want a refusal that names the sticky bit", err, out)
		}
	})
}

func TestShellSyntax(t *testing.T) {
	files, err := filepath.Glob("*/*.sh")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts found: %v", err)
	}
	files = append(files, "package-check.sh")
	for _, f := range files {
		run(t, nil, "sh", "-n", f)
	}
}
