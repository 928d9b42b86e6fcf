package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"warning with attributes", func(l *slog.Logger) {
			l.Warn("some sockets could not be read", "table", "legacy_ports", "error", errors.New("namespace 4026532999: permission denied"))
		}, "legacy-ports: warning: some sockets could not be read table=legacy_ports error=\"namespace 4026532999: permission denied\"\n"},
		{"below the level: nothing", func(l *slog.Logger) { l.Info("serving") }, ""},
		{"error, empty value", func(l *slog.Logger) { l.Error("failed", "detail", "") }, "legacy-ports: error: failed detail=\"\"\n"},
		{"a stack goes on the lines after", func(l *slog.Logger) {
			l.Error("generate panicked", "table", "t", "stack", "goroutine 1 [running]:\nmain.f()\n")
		}, "legacy-ports: error: generate panicked table=t\n\tstack:\n\t\tgoroutine 1 [running]:\n\t\tmain.f()\n"},
		{"groups and derived loggers", func(l *slog.Logger) {
			l.With("table", "t").WithGroup("g").Warn("m", "a", 1, slog.Group("h", "b", 2))
		}, "legacy-ports: warning: m table=t g.a=1 g.h.b=2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.log(New(&b, slog.LevelWarn))
			if b.String() != tt.want {
				t.Errorf("got  %q\nwant %q", b.String(), tt.want)
			}
		})
	}
}
