package sockets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"testing"
)

// fakeProc builds a proc tree in a temporary directory from links: path
// (relative to the root) to link target. Directories are created as needed.
func fakeProc(t *testing.T, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for path, target := range links {
		path = filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestOwners(t *testing.T) {
	root := fakeProc(t, map[string]string{
		"self":         "100",
		"100/fd/0":     "pipe:[12345]", // same number, not a socket
		"100/fd/3":     "socket:[12345]",
		"100/fd/4":     "socket:[999]",
		"100/fd/5":     "/dev/null",
		"100/fd/17":    "socket:[12345]", // dup(2) of fd 3
		"200/fd/10":    "socket:[12345]", // inherited across fork
		"200/fd/11":    "socket:[777]",
		"200/fd/12":    "socket:[777",
		"notapid/fd/1": "socket:[12345]",
		"0/fd/1":       "socket:[12345]",
		"500/fd/1":     "socket:[12345]",
	})
	// 300 exited: no fd directory. 400's fd is not a directory. 500's cannot
	// be read, except by root.
	if err := os.Mkdir(filepath.Join(root, "300"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "400"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "400", "fd"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(root, "500", "fd")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })

	shared := []Owner{{100, 3}, {100, 17}, {200, 10}}
	if os.Geteuid() == 0 {
		shared = append(shared, Owner{500, 1})
	}
	tests := []struct {
		name   string
		inodes []uint64
		pids   []int32
		want   map[uint64][]Owner
	}{
		{"every process", []uint64{12345, 777}, nil, map[uint64][]Owner{12345: shared, 777: {{200, 11}}}},
		{"one process", []uint64{12345, 777}, []int32{200}, map[uint64][]Owner{12345: {{200, 10}}, 777: {{200, 11}}}},
		{"pids repeated, gone or invalid", []uint64{12345}, []int32{200, 300, 100, 200, 400, 500, 555, 0, -1}, map[uint64][]Owner{12345: shared}},
		{"no owner", []uint64{4242}, nil, map[uint64][]Owner{}},
		{"no inode", nil, nil, map[uint64][]Owner{}},
	}
	src := NewLinux(root)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inodes := make(map[uint64]struct{})
			for _, ino := range tt.inodes {
				inodes[ino] = struct{}{}
			}
			got, err := src.Owners(t.Context(), inodes, tt.pids)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOwnersErrors(t *testing.T) {
	root := fakeProc(t, map[string]string{"100/fd/3": "socket:[1]"})
	inodes := map[uint64]struct{}{1: {}}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewLinux(root).Owners(cancelled, inodes, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	if _, err := NewLinux(filepath.Join(root, "missing")).Owners(t.Context(), inodes, nil); err == nil {
		t.Error("missing proc root: no error")
	}
}

// TestOwnersManyProcesses walks enough processes to share the walk among
// workers, and checks that every owner is found once, in order.
func TestOwnersManyProcesses(t *testing.T) {
	const procs = 4 * pidsPerWorker
	links := map[string]string{}
	want := map[uint64][]Owner{}
	for pid := 1; pid <= procs; pid++ {
		links[strconv.Itoa(pid)+"/fd/0"] = "/dev/null"
		if pid%3 == 0 { // every third process shares one socket, as after fork
			links[strconv.Itoa(pid)+"/fd/5"] = "socket:[4242]"
			want[4242] = append(want[4242], Owner{PID: int32(pid), FD: 5})
		}
		ino := uint64(10000 + pid)
		links[strconv.Itoa(pid)+"/fd/7"] = "socket:[" + strconv.FormatUint(ino, 10) + "]"
		if pid%50 == 0 {
			want[ino] = []Owner{{PID: int32(pid), FD: 7}}
		}
	}
	root := fakeProc(t, links)
	wanted := map[uint64]struct{}{}
	for ino := range want {
		wanted[ino] = struct{}{}
	}
	for _, gomaxprocs := range []int{1, 4} {
		prev := runtime.GOMAXPROCS(gomaxprocs)
		got, err := NewLinux(root).Owners(t.Context(), wanted, nil)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GOMAXPROCS %d: got %v, want %v", gomaxprocs, got, want)
		}
	}
}
