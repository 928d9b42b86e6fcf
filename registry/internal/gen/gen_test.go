package gen

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

type point struct{ X, Y int }

// TestValueRefuses checks that what cannot become static data, or would
// change meaning as a literal, is an error naming where it is.
func TestValueRefuses(t *testing.T) {
	shared := &point{1, 2}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"map", struct{ M map[int]int }{map[int]int{1: 2}}, ".M: a map[int]int cannot be written"},
		{"shared pointer", []*point{shared, shared}, "[1]: *gen.point is shared"},
		{"type of another package", struct{ D []time.Duration }{[]time.Duration{1}}, "type time.Duration is not of package registry"},
		{"func", struct{ F func() }{func() {}}, ".F: a func() cannot be written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &writer{seen: map[uintptr]bool{}}
			err := w.value(reflect.ValueOf(tt.v), false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestValueLists checks the two ways of writing an array: a mostly zero one
// (a port bitmap) by index, a dense one in full.
func TestValueLists(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{[6]uint64{0, 5, 0, 0, 0, 0}, "{1: 0x5, }"},
		{[3]uint16{1, 0, 2}, "{1, 0, 2, }"},
		{[]*point{{1, 0}}, "{\n{\nX: 1,\n}, \n}"},
		{[]string(nil), "nil"},
	}
	for _, tt := range tests {
		w := &writer{seen: map[uintptr]bool{}}
		if err := w.value(reflect.ValueOf(tt.v), false); err != nil {
			t.Fatalf("%v: %v", tt.v, err)
		}
		if got := w.buf.String(); got != tt.want {
			t.Errorf("%#v written as %q, want %q", tt.v, got, tt.want)
		}
	}
}
