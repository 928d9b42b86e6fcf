package sockets

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDescribeProcessFixture(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "4242")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"status":  "Name:\tkworker-long-na\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1001\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
		"cmdline": "/usr/sbin/kworker-long-name-daemon\x00--port\x00611\x00",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/usr/sbin/kworker-long-name-daemon", filepath.Join(dir, "exe")); err != nil {
		t.Fatal(err)
	}
	p, err := describeProcess(t.Context(), root, 4242)
	if err != nil {
		t.Fatal(err)
	}
	want := Process{Name: "kworker-long-name-daemon", Path: "/usr/sbin/kworker-long-name-daemon",
		Cmdline: "/usr/sbin/kworker-long-name-daemon --port 611", UID: 1001, Username: p.Username}
	if p != want {
		t.Errorf("got %+v, want %+v", p, want)
	}
	if _, err := describeProcess(t.Context(), root, 4243); err == nil {
		t.Error("a missing process gave no error")
	}
}

func TestFullName(t *testing.T) {
	tests := []struct{ name, cmdline, want string }{
		{"sshd", "sshd: alice [priv]", "sshd"},
		{"rpc.statd-longe", "/sbin/rpc.statd-longer-name --no-notify", "rpc.statd-longer-name"},
		{"python3.11-some", "/usr/bin/python3 app.py", "python3.11-some"},
		{"abcdefghijklmno", "", "abcdefghijklmno"},
	}
	for _, tt := range tests {
		if got := fullName(tt.name, tt.cmdline); got != tt.want {
			t.Errorf("fullName(%q, %q) = %q, want %q", tt.name, tt.cmdline, got, tt.want)
		}
	}
}
