package queryfile

import (
	"fmt"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name, text string
		want       []Statement
	}{
		{"one", "SELECT 1", []Statement{{"SELECT 1", 1}}},
		{"terminated", "SELECT 1;", []Statement{{"SELECT 1", 1}}},
		{"several, with lines", "SELECT 1;\n\nSELECT 2;\n  SELECT\n 3", []Statement{{"SELECT 1", 1}, {"SELECT 2", 3}, {"SELECT\n 3", 4}}},
		{"semicolon in a string", "SELECT 'a;b'; SELECT 2", []Statement{{"SELECT 'a;b'", 1}, {"SELECT 2", 1}}},
		{"doubled quote", "SELECT 'it''s;'; SELECT 2", []Statement{{"SELECT 'it''s;'", 1}, {"SELECT 2", 1}}},
		{"quoted identifiers", "SELECT \"a;\", `b;`, [c;] FROM t; SELECT 2", []Statement{{"SELECT \"a;\", `b;`, [c;] FROM t", 1}, {"SELECT 2", 1}}},
		{"comments", "-- first; not a statement\n/* two;\nlines */ SELECT 1; -- trailing;\n", []Statement{{"SELECT 1", 3}}},
		{"empty statements", ";;  ; -- nothing\n", nil},
		{"unterminated string is kept", "SELECT 'oops", []Statement{{"SELECT 'oops", 1}}},
		{"minus is not a comment", "SELECT 2-1; SELECT 3", []Statement{{"SELECT 2-1", 1}, {"SELECT 3", 1}}},
		{"slash is not a comment", "SELECT 4/2", []Statement{{"SELECT 4/2", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Split(tt.text); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Split(%q)\ngot  %+v\nwant %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"SELECT 1;", true},
		{"SELECT 1; ", true},
		{"SELECT 1; -- done", true},
		{"SELECT 1", false},
		{"SELECT 1;\nSELECT 2", false},
		{"SELECT ';", false},
		{"SELECT 1 /* ; */", false},
		{"SELECT 1; /* open", false},
		{"", false},
		{"-- only a comment;", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := Complete(tt.text); got != tt.want {
				t.Errorf("Complete(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}
