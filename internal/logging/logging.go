// Package logging is the one log format of both binaries: every line starts
// with the same prefix and a level, then the message and its attributes.
// osqueryd keeps an extension's stderr in its own log, and the command-line
// tool's user reads it on a terminal: one short line per event, with a
// multi-line value (a panic's stack) indented on the lines after it.
package logging

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// Prefix starts every line.
const Prefix = "legacy-ports"

// New returns a logger writing to w the records at level and above.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(&handler{out: &output{w: w}, level: level})
}

// output serialises the writes of a logger and of the loggers derived from it.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

type handler struct {
	out   *output
	level slog.Leveler
	attrs []slog.Attr // from WithAttrs, already qualified by their groups
	group string      // "a.b." from WithGroup
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var line, tail bytes.Buffer
	line.WriteString(Prefix + ": " + levelName(r.Level) + ": " + r.Message)
	write := func(a slog.Attr) bool {
		writeAttr(&line, &tail, "", a)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&line, &tail, h.group, a)
		return true
	})
	line.WriteByte('\n')
	line.Write(tail.Bytes())
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := h.out.w.Write(line.Bytes())
	return err
}

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

// writeAttr writes " key=value" on the line, quoting a value with spaces;
// a value of several lines goes, indented, to tail.
func writeAttr(line, tail *bytes.Buffer, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		prefix := group
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			writeAttr(line, tail, prefix, ga)
		}
		return
	}
	key, val := group+a.Key, a.Value.String()
	if strings.Contains(strings.TrimRight(val, "\n"), "\n") {
		tail.WriteString("\t" + key + ":\n")
		for l := range strings.Lines(val) {
			tail.WriteString("\t\t" + strings.TrimRight(l, "\n") + "\n")
		}
		return
	}
	if val == "" || strings.ContainsAny(val, " \t\"=") {
		val = strconv.Quote(val)
	}
	line.WriteString(" " + key + "=" + val)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), qualify(h.group, attrs)...)
	return &c
}

// qualify puts attributes under the handler's open groups.
func qualify(group string, attrs []slog.Attr) []slog.Attr {
	if group == "" {
		return attrs
	}
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: group + a.Key, Value: a.Value}
	}
	return out
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}
