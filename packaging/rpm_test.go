//go:build !windows

package packaging

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A small reader for the .rpm files nfpm writes, so that the tests list and
// unpack them without rpm or rpm2cpio on the machine and without a new
// module dependency. It reads the two header structures and the
// gzip-compressed cpio (newc) payload that packaging/nfpm.yaml asks for.

// Header tags the tests read (rpm's lib/rpmtag.h).
const (
	tagName          = 1000
	tagArch          = 1022
	tagPostIn        = 1024
	tagPreUn         = 1025
	tagFileModes     = 1030
	tagFileUserName  = 1039
	tagFileGroupName = 1040
	tagPostInProg    = 1086
	tagPreUnProg     = 1087
	tagDirIndexes    = 1116
	tagBaseNames     = 1117
	tagDirNames      = 1118
)

// Header data types.
const (
	typeInt16       = 3
	typeInt32       = 4
	typeString      = 6
	typeStringArray = 8
)

type rpmFile struct {
	path        string
	mode        uint32 // st_mode: type and permission bits
	user, group string
	data        []byte
}

func (f rpmFile) isDir() bool { return f.mode&0o170000 == 0o040000 }
func (f rpmFile) isReg() bool { return f.mode&0o170000 == 0o100000 }

// lsMode spells the mode as ls and dpkg-deb do: drwxr-xr-x, with t or T for
// the sticky bit.
func (f rpmFile) lsMode() string {
	b := []byte("-rwxrwxrwx")
	if f.isDir() {
		b[0] = 'd'
	}
	for i := range 9 {
		if f.mode&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	if f.mode&0o1000 != 0 {
		b[9] = map[byte]byte{'x': 't', '-': 'T'}[b[9]]
	}
	return string(b)
}

type rpmPackage struct {
	tags  map[int]any // string, []string, []uint32 (int16 and int32 alike)
	files []rpmFile   // from the header, with the payload's data
}

func (p *rpmPackage) str(tag int) string {
	s, _ := p.tags[tag].(string)
	return s
}

func readRPM(path string) (*rpmPackage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	if _, err := io.CopyN(io.Discard, r, 96); err != nil { // the lead
		return nil, fmt.Errorf("lead: %w", err)
	}
	// The signature header is padded to a multiple of 8 bytes.
	sigSize, _, err := readHeader(r)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	if pad := (8 - sigSize%8) % 8; pad > 0 {
		if _, err := io.CopyN(io.Discard, r, int64(pad)); err != nil {
			return nil, err
		}
	}
	_, tags, err := readHeader(r)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	p := &rpmPackage{tags: tags}
	payload, err := readPayload(r)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}

	bases, _ := tags[tagBaseNames].([]string)
	dirs, _ := tags[tagDirNames].([]string)
	idx, _ := tags[tagDirIndexes].([]uint32)
	modes, _ := tags[tagFileModes].([]uint32)
	users, _ := tags[tagFileUserName].([]string)
	groups, _ := tags[tagFileGroupName].([]string)
	for i, base := range bases {
		if i >= len(idx) || int(idx[i]) >= len(dirs) || i >= len(modes) || i >= len(users) || i >= len(groups) {
			return nil, errors.New("file arrays of different lengths")
		}
		path := dirs[idx[i]] + base
		p.files = append(p.files, rpmFile{
			path:  path,
			mode:  modes[i],
			user:  users[i],
			group: groups[i],
			data:  payload[path],
		})
	}
	return p, nil
}

// readHeader reads one header structure: magic, index entries, data store.
// It returns the structure's size and the tags the tests use.
func readHeader(r io.Reader) (int, map[int]any, error) {
	var intro struct {
		Magic    [3]byte
		Version  uint8
		Reserved uint32
		Count    uint32
		Size     uint32
	}
	if err := binary.Read(r, binary.BigEndian, &intro); err != nil {
		return 0, nil, err
	}
	if intro.Magic != [3]byte{0x8e, 0xad, 0xe8} {
		return 0, nil, errors.New("bad header magic")
	}
	type entry struct{ Tag, Type, Offset, Count uint32 }
	entries := make([]entry, intro.Count)
	if err := binary.Read(r, binary.BigEndian, entries); err != nil {
		return 0, nil, err
	}
	store := make([]byte, intro.Size)
	if _, err := io.ReadFull(r, store); err != nil {
		return 0, nil, err
	}
	tags := map[int]any{}
	for _, e := range entries {
		if e.Offset > uint32(len(store)) {
			return 0, nil, fmt.Errorf("tag %d: offset out of range", e.Tag)
		}
		d := store[e.Offset:]
		switch e.Type {
		case typeString, typeStringArray:
			parts := strings.SplitN(string(d), "\x00", int(e.Count)+1)
			if len(parts) <= int(e.Count) {
				return 0, nil, fmt.Errorf("tag %d: strings run past the store", e.Tag)
			}
			if e.Type == typeString {
				tags[int(e.Tag)] = parts[0]
			} else {
				tags[int(e.Tag)] = parts[:e.Count]
			}
		case typeInt16, typeInt32:
			size := 2
			if e.Type == typeInt32 {
				size = 4
			}
			if len(d) < size*int(e.Count) {
				return 0, nil, fmt.Errorf("tag %d: integers run past the store", e.Tag)
			}
			vals := make([]uint32, e.Count)
			for i := range vals {
				if size == 2 {
					vals[i] = uint32(binary.BigEndian.Uint16(d[2*i:]))
				} else {
					vals[i] = binary.BigEndian.Uint32(d[4*i:])
				}
			}
			tags[int(e.Tag)] = vals
		}
	}
	return 16 + 16*int(intro.Count) + int(intro.Size), tags, nil
}

// readPayload unpacks a gzip-compressed cpio archive in the "newc" format
// (magic 070701, 13 fields of 8 hex digits, name and data each padded to 4
// bytes) into a map from absolute path to content.
func readPayload(r io.Reader) (map[string][]byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(gz)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	align := func(n int) int { return (n + 3) &^ 3 }
	for pos := 0; ; {
		if pos+110 > len(raw) || string(raw[pos:pos+6]) != "070701" {
			return nil, fmt.Errorf("bad cpio header at %d", pos)
		}
		field := func(i int) (int, error) {
			v, err := strconv.ParseUint(string(raw[pos+6+8*i:pos+14+8*i]), 16, 32)
			return int(v), err
		}
		size, err1 := field(6)
		nameSize, err2 := field(11)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		nameEnd := pos + 110 + nameSize
		if nameSize < 1 || nameEnd > len(raw) {
			return nil, fmt.Errorf("bad cpio name at %d", pos)
		}
		// rpmbuild writes ./usr/..., rpmpack (nfpm) /usr/...
		name := "/" + strings.TrimPrefix(strings.TrimPrefix(string(raw[pos+110:nameEnd-1]), "."), "/")
		if name == "/TRAILER!!!" {
			return files, nil
		}
		start := align(nameEnd)
		if start+size > len(raw) {
			return nil, fmt.Errorf("cpio data of %s runs past the end", name)
		}
		files[name] = bytes.Clone(raw[start : start+size])
		pos = align(start + size)
	}
}

// unpack writes the package's directories and regular files under root,
// with their modes, as rpm would install them.
func (p *rpmPackage) unpack(root string) error {
	for _, f := range p.files {
		dst := filepath.Join(root, filepath.FromSlash(f.path))
		switch {
		case f.isDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case f.isReg():
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, f.data, os.FileMode(f.mode&0o777)); err != nil {
				return err
			}
		}
	}
	return nil
}
