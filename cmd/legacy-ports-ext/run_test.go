package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/internal/logging"
	"github.com/legacy-ports/legacy-ports/internal/setup"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     config
		wantErr  string
		wantWarn string
	}{
		{
			name: "osquery's argv",
			args: []string{"--verbose", "--socket", "/var/osquery/osquery.em", "--timeout", "3", "--interval", "3"},
			want: config{events: defaultEvents, socket: "/var/osquery/osquery.em", timeout: 3 * time.Second, interval: 3 * time.Second, verbose: true},
		},
		{
			name: "single dash and equals",
			args: []string{"-socket=/s", "-timeout=1.5", "-interval=500ms"},
			want: config{events: defaultEvents, socket: "/s", timeout: 1500 * time.Millisecond, interval: 500 * time.Millisecond},
		},
		{
			name:     "unknown flags are skipped with their values",
			args:     []string{"--new_flag", "value", "--socket", "/s", "--other=1", "--switch"},
			want:     config{events: defaultEvents, socket: "/s", timeout: 3 * time.Second, interval: 3 * time.Second},
			wantWarn: "ignoring unknown flag --new_flag value",
		},
		{name: "socket required", args: []string{"--timeout", "3"}, wantErr: "--socket is required"},
		{name: "bad timeout", args: []string{"--socket", "/s", "--timeout", "soon"}, wantErr: `"soon" is not a positive number of seconds`},
		{name: "negative interval", args: []string{"--socket", "/s", "--interval", "-1"}, wantErr: "not a positive number"},
		{
			name: "events flags",
			args: []string{"--socket", "/s", "--events", "poll", "--events_expiry", "60", "--events_max", "100", "--events_poll_interval", "0.5"},
			want: config{socket: "/s", timeout: 3 * time.Second, interval: 3 * time.Second,
				events: setup.EventsConfig{Mode: "poll", Expiry: time.Minute, Max: 100, PollInterval: 500 * time.Millisecond}},
		},
		{name: "bad events mode", args: []string{"--socket", "/s", "--events", "ebpf"}, wantErr: `--events "ebpf": want auto, poll or off`},
		{name: "bad events_max", args: []string{"--socket", "/s", "--events_max", "0"}, wantErr: "--events_max 0"},
		{name: "bad events_expiry", args: []string{"--socket", "/s", "--events_expiry", "-5"}, wantErr: "not a positive number"},
		{name: "spec needs no socket", args: []string{"--spec"}, want: config{events: defaultEvents, spec: true, timeout: 3 * time.Second, interval: 3 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseArgs(tt.args, logging.New(&stderr, slog.LevelWarn))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if !strings.Contains(stderr.String(), tt.wantWarn) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.wantWarn)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	_, err := parseArgs([]string{"--help"}, logging.New(&bytes.Buffer{}, slog.LevelWarn))
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v", err)
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"-h"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "--socket") {
		t.Errorf("code %d, usage %q", code, out.String())
	}
	if code := run(t.Context(), []string{"--timeout", "x", "--socket", "/s"}, &out, &errOut); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
}
