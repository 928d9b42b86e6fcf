// Command release turns the cross-compiled binaries in dist/<os>-<arch>/ into
// the release assets: a tar.gz (linux, darwin) or zip (windows) per platform
// with the install scripts, universal macOS binaries, the files Fleet's TUF
// server wants under dist/fleet/, and SHA256SUMS. Every byte depends only on
// its inputs and -mtime: entries are sorted, owned by root (uid 0) with fixed
// modes, and stamped with one time, so two runs give the same checksums.
//
// Usage:
//
//	release -dist dist -version 0.1.0 -mtime $SOURCE_DATE_EPOCH
//	release -dist dist -sums-only
//
// -sums-only rewrites SHA256SUMS alone, for after `make package` has added
// the .deb and .rpm files.
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"debug/macho"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// platforms are the builds `make build-all` leaves in dist/<os>-<arch>/.
var platforms = []struct{ os, arch string }{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// fleetTargets names each binary after the key of Fleet's agent options
// that deploys it (packaging/fleet/lib/legacy-ports.agent-options.yml):
// orbit looks for <key>.ext, or <key>.ext.exe on Windows.
var fleetTargets = []struct{ from, to string }{
	{"linux-amd64/legacy_ports.ext", "legacy_ports_linux.ext"},
	{"linux-arm64/legacy_ports.ext", "legacy_ports_linux_arm64.ext"},
	{"darwin-universal/legacy_ports.ext", "legacy_ports_macos.ext"},
	{"windows-amd64/legacy_ports.ext.exe", "legacy_ports_windows.ext.exe"},
	{"windows-arm64/legacy_ports.ext.exe", "legacy_ports_windows_arm64.ext.exe"},
}

// member is one file of an archive: where it comes from, its name under the
// archive's top directory, and its mode.
type member struct {
	src, name string
	mode      int64
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("release: ")
	if err := run(os.Args[1:]); err != nil {
		log.Fatal(err)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	dist := fs.String("dist", "dist", "directory holding <os>-<arch>/ builds; assets are written here")
	root := fs.String("root", ".", "the repository: README.md and packaging/ (scripts, docs, osquery pack)")
	version := fs.String("version", "", "version in the archive names")
	epoch := fs.Int64("mtime", -1, "modification time of every archive entry, in seconds since 1970 (SOURCE_DATE_EPOCH)")
	sumsOnly := fs.Bool("sums-only", false, "only rewrite SHA256SUMS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*sumsOnly {
		if *version == "" || *epoch < 0 {
			return errors.New("-version and -mtime are required")
		}
		mtime := time.Unix(*epoch, 0).UTC()
		for _, p := range platforms {
			if err := archive(*dist, *root, *version, p.os, p.arch, mtime); err != nil {
				return err
			}
		}
		if err := universal(*dist); err != nil {
			return err
		}
		if err := fleet(*dist); err != nil {
			return err
		}
	}
	return sums(*dist)
}

// programs are the binaries that make build-all builds for each platform:
// the extension, legacy-ports and legacy-ports-query, which legacy-ports
// runs for its query command and finds beside itself.
var programs = []string{"legacy_ports.ext", "legacy-ports", "legacy-ports-query"}

// archive writes legacy-ports-<version>-<os>-<arch>.tar.gz (.zip for
// windows), with every file under a directory of the same name.
func archive(dist, root, version, goos, arch string, mtime time.Time) error {
	src := filepath.Join(root, "packaging")
	bin := filepath.Join(dist, goos+"-"+arch)
	exe := ""
	if goos == "windows" {
		exe = ".exe"
	}
	var members []member
	for _, name := range programs {
		members = append(members, member{filepath.Join(bin, name+exe), name + exe, 0o755})
	}
	members = append(members, []member{
		{filepath.Join(root, "README.md"), "README.md", 0o644},
		{filepath.Join(src, "osquery", "legacy_ports.conf"), "osquery/legacy_ports.conf", 0o644},
		{filepath.Join(src, "osquery", "legacy_ports.flags"), "osquery/legacy_ports.flags", 0o644},
	}...)
	switch goos {
	case "windows":
		members = append(members,
			member{filepath.Join(src, "windows", "install.ps1"), "install.ps1", 0o644},
			member{filepath.Join(src, "windows", "uninstall.ps1"), "uninstall.ps1", 0o644},
			member{filepath.Join(src, "docs", "install-windows.md"), "INSTALL.md", 0o644})
	default:
		doc := "install-linux.md"
		if goos == "darwin" {
			doc = "install-macos.md"
		}
		members = append(members,
			member{filepath.Join(src, "unix", "install.sh"), "install.sh", 0o755},
			member{filepath.Join(src, "unix", "uninstall.sh"), "uninstall.sh", 0o755},
			member{filepath.Join(src, "scripts", "extensions-load.sh"), "extensions-load.sh", 0o755},
			member{filepath.Join(src, "docs", doc), "INSTALL.md", 0o644})
	}
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.name, b.name) })

	top := fmt.Sprintf("legacy-ports-%s-%s-%s", version, goos, arch)
	if goos == "windows" {
		return writeFile(filepath.Join(dist, top+".zip"), func(w io.Writer) error {
			return writeZip(w, top, members, mtime)
		})
	}
	return writeFile(filepath.Join(dist, top+".tar.gz"), func(w io.Writer) error {
		return writeTarGz(w, top, members, mtime)
	})
}

func writeTarGz(w io.Writer, top string, members []member, mtime time.Time) error {
	// The gzip header carries no name and a zero time.
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	hdr := func(name string, mode int64, typ byte, size int64) *tar.Header {
		return &tar.Header{
			Name: name, Mode: mode, Typeflag: typ, Size: size, ModTime: mtime,
			Uname: "root", Gname: "root", Format: tar.FormatUSTAR,
		}
	}
	dirs := map[string]bool{}
	for _, m := range members {
		// Directories get entries of their own, so that they unpack 0755
		// whatever the unpacking user's umask.
		for _, d := range parents(top + "/" + m.name) {
			if !dirs[d] {
				dirs[d] = true
				if err := tw.WriteHeader(hdr(d+"/", 0o755, tar.TypeDir, 0)); err != nil {
					return err
				}
			}
		}
		data, err := os.ReadFile(m.src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr(top+"/"+m.name, m.mode, tar.TypeReg, int64(len(data)))); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, top string, members []member, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, m := range members {
		data, err := os.ReadFile(m.src)
		if err != nil {
			return err
		}
		fh := &zip.FileHeader{Name: top + "/" + m.name, Method: zip.Deflate, Modified: mtime}
		fh.SetMode(os.FileMode(m.mode))
		f, err := zw.CreateHeader(fh)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// parents lists the directories above a slash-separated path, outermost first.
func parents(name string) []string {
	var out []string
	for i, c := range name {
		if c == '/' {
			out = append(out, name[:i])
		}
	}
	return out
}

// universal joins the darwin amd64 and arm64 builds of each binary into one
// Mach-O universal ("fat") file in dist/darwin-universal/, as lipo does:
// Fleet serves one file to every Mac, and one pkg fits both kinds of Mac.
func universal(dist string) error {
	for _, name := range programs {
		out := filepath.Join(dist, "darwin-universal", name)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		thin := []string{filepath.Join(dist, "darwin-amd64", name), filepath.Join(dist, "darwin-arm64", name)}
		if err := writeFile(out, func(w io.Writer) error { return writeFat(w, thin) }); err != nil {
			return err
		}
		if err := os.Chmod(out, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// fatAlign is the alignment of each slice, 2^14: Apple silicon maps them in
// 16 KiB pages, and it is a multiple of Intel's 4 KiB.
const fatAlign = 14

// writeFat writes the fat header (big-endian: magic, count, then cputype,
// cpusubtype, offset, size, align per slice) followed by the slices, each
// at an offset aligned to 2^fatAlign. Each slice keeps its own signature.
func writeFat(w io.Writer, thin []string) error {
	type slice struct {
		cpu, sub uint32
		data     []byte
	}
	var parts []slice
	for _, path := range thin {
		f, err := macho.Open(path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		cpu, sub := uint32(f.Cpu), f.SubCpu
		if err := f.Close(); err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		parts = append(parts, slice{cpu, sub, data})
	}
	const headerSize, archSize = 8, 20
	hdr := []uint32{macho.MagicFat, uint32(len(parts))}
	offset := uint32(headerSize + archSize*len(parts))
	var offsets []uint32
	for _, s := range parts {
		offset = alignUp(offset)
		offsets = append(offsets, offset)
		hdr = append(hdr, s.cpu, s.sub, offset, uint32(len(s.data)), fatAlign)
		offset += uint32(len(s.data))
	}
	if err := binary.Write(w, binary.BigEndian, hdr); err != nil {
		return err
	}
	pos := uint32(headerSize + archSize*len(parts))
	for i, s := range parts {
		if _, err := w.Write(make([]byte, offsets[i]-pos)); err != nil {
			return err
		}
		if _, err := w.Write(s.data); err != nil {
			return err
		}
		pos = offsets[i] + uint32(len(s.data))
	}
	return nil
}

func alignUp(n uint32) uint32 {
	const a = 1 << fatAlign
	return (n + a - 1) &^ (a - 1)
}

// fleet copies the extension for each of Fleet's platforms to dist/fleet/
// under the name orbit expects.
func fleet(dist string) error {
	dir := filepath.Join(dist, "fleet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, t := range fleetTargets {
		data, err := os.ReadFile(filepath.Join(dist, t.from))
		if err != nil {
			return err
		}
		out := filepath.Join(dir, t.to)
		if err := writeFile(out, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return err
		}
		if err := os.Chmod(out, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// sums writes SHA256SUMS in sha256sum's format, for `sha256sum -c`: the
// archives, the Fleet files and any .deb and .rpm, by path under dist.
func sums(dist string) error {
	var rels []string
	for _, pattern := range []string{"*.tar.gz", "*.zip", "*.deb", "*.rpm", "fleet/*"} {
		m, err := filepath.Glob(filepath.Join(dist, pattern))
		if err != nil {
			return err
		}
		for _, f := range m {
			rel, err := filepath.Rel(dist, f)
			if err != nil {
				return err
			}
			rels = append(rels, filepath.ToSlash(rel))
		}
	}
	slices.Sort(rels)
	var out strings.Builder
	for _, rel := range rels {
		data, err := os.ReadFile(filepath.Join(dist, rel))
		if err != nil {
			return err
		}
		h := sha256.Sum256(data)
		fmt.Fprintf(&out, "%s  %s\n", hex.EncodeToString(h[:]), rel)
	}
	return writeFile(filepath.Join(dist, "SHA256SUMS"), func(w io.Writer) error {
		_, err := io.WriteString(w, out.String())
		return err
	})
}

// writeFile writes path through a temporary file and a rename, so that an
// interrupted run never leaves a truncated asset behind.
func writeFile(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".release-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fill(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
