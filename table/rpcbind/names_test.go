package rpcbind

import (
	"maps"
	"slices"
	"testing"
)

func TestProgramName(t *testing.T) {
	tests := []struct {
		prog uint32
		want string
	}{
		{100000, "portmapper"},
		{100003, "nfs"},
		{100021, "nlockmgr"},
		{100024, "status"},
		{150001, "pcnfsd"},
		{100006, "100006"},
		{0, "0"},
		{4294967295, "4294967295"},
	}
	for _, tt := range tests {
		if got := ProgramName(tt.prog); got != tt.want {
			t.Errorf("ProgramName(%d) = %q, want %q", tt.prog, got, tt.want)
		}
	}
}

func TestPortPrograms(t *testing.T) {
	tests := []struct {
		name string
		ms   []Mapping
		want map[Key][]string
	}{
		{name: "none", want: map[Key][]string{}},
		{
			name: "versions and protocols",
			ms: []Mapping{
				{Program: 100000, Version: 4, Protocol: 6, Port: 111},
				{Program: 100000, Version: 3, Protocol: 6, Port: 111},
				{Program: 100000, Version: 2, Protocol: 17, Port: 111},
				{Program: 100003, Version: 3, Protocol: 6, Port: 2049},
				{Program: 100227, Version: 3, Protocol: 6, Port: 2049},
				{Program: 100003, Version: 4, Protocol: 6, Port: 2049},
				{Program: 100024, Version: 1, Protocol: 17, Port: 662},
				{Program: 400123, Version: 1, Protocol: 17, Port: 662},
			},
			want: map[Key][]string{
				{Port: 111, Protocol: 6}:  {"portmapper"},
				{Port: 111, Protocol: 17}: {"portmapper"},
				{Port: 2049, Protocol: 6}: {"nfs", "nfs_acl"},
				{Port: 662, Protocol: 17}: {"400123", "status"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PortPrograms(tt.ms)
			if !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("PortPrograms = %v, want %v", got, tt.want)
			}
		})
	}
}
