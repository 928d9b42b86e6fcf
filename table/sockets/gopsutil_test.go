package sockets

import (
	"net/netip"
	"reflect"
	"testing"

	gnet "github.com/shirou/gopsutil/v4/net"
)

func TestFromConnections(t *testing.T) {
	tests := []struct {
		name string
		in   gnet.ConnectionStat
		want []Socket
	}{
		{
			name: "windows IPv6 listener: family 23, no fd",
			in:   gnet.ConnectionStat{Family: 23, Type: 1, Laddr: gnet.Addr{IP: "::", Port: 611}, Status: "LISTEN", Pid: 4242},
			want: []Socket{{Family: AFInet6, Protocol: 6, Local: netip.MustParseAddrPort("[::]:611"), Remote: netip.MustParseAddrPort("[::]:0"),
				State: "LISTEN", UID: -1, Owners: []Owner{{PID: 4242, FD: -1}}}},
		},
		{
			name: "windows state names become osquery's",
			in: gnet.ConnectionStat{Family: 2, Type: 1, Laddr: gnet.Addr{IP: "10.0.0.1", Port: 50000}, Raddr: gnet.Addr{IP: "10.0.0.2", Port: 5190},
				Status: "SYN_RECEIVED", Pid: 7},
			want: []Socket{{Family: AFInet, Protocol: 6, Local: netip.MustParseAddrPort("10.0.0.1:50000"), Remote: netip.MustParseAddrPort("10.0.0.2:5190"),
				State: "SYN_RECV", UID: -1, Owners: []Owner{{PID: 7, FD: -1}}}},
		},
		{
			name: "macOS lsof wildcard and UDP without state",
			in:   gnet.ConnectionStat{Fd: 5, Family: 30, Type: 2, Laddr: gnet.Addr{IP: "*", Port: 609}, Status: "", Pid: 99},
			want: []Socket{{Family: AFInet6, Protocol: 17, Local: netip.MustParseAddrPort("[::]:609"), Remote: netip.MustParseAddrPort("[::]:0"),
				UID: -1, Owners: []Owner{{PID: 99, FD: 5}}}},
		},
		{
			name: "unknown owner: pid 0 gives no owners",
			in:   gnet.ConnectionStat{Family: 2, Type: 2, Laddr: gnet.Addr{IP: "0.0.0.0", Port: 611}, Status: "NONE"},
			want: []Socket{{Family: AFInet, Protocol: 17, Local: netip.MustParseAddrPort("0.0.0.0:611"), Remote: netip.MustParseAddrPort("0.0.0.0:0"),
				UID: -1, Owners: []Owner{}}},
		},
		{
			name: "raw sockets are skipped",
			in:   gnet.ConnectionStat{Family: 2, Type: 3, Laddr: gnet.Addr{IP: "0.0.0.0", Port: 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromConnections([]gnet.ConnectionStat{tt.in}, KeepAll)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	t.Run("the filter sees local and remote ports and the IPPROTO number", func(t *testing.T) {
		var seen [3]int
		fromConnections([]gnet.ConnectionStat{{Family: 2, Type: 2, Laddr: gnet.Addr{IP: "1.2.3.4", Port: 1}, Raddr: gnet.Addr{IP: "5.6.7.8", Port: 2}}},
			FilterFunc(func(l, r uint16, p uint8) bool { seen = [3]int{int(l), int(r), int(p)}; return false }))
		if seen != [3]int{1, 2, 17} {
			t.Errorf("filter got %v", seen)
		}
	})
}
