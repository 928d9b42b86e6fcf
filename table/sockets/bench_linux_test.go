package sockets

import (
	"net"
	"os"
	"testing"
	"time"
)

// BenchmarkSocketsNoMatch is the usual query: no socket on a registry port.
// It measures finding the namespaces and reading every socket of each, with
// netlink and with the /proc/net files.
func BenchmarkSocketsNoMatch(b *testing.B) {
	none := FilterFunc(func(uint16, uint16, uint8) bool { return false })
	for _, bc := range liveSources() {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.src.Sockets(b.Context(), none); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The registry's shape: about 200 ranges per protocol, mostly below
	// 10,000, none of them in use.
	var regLike PortFilter
	for p := uint16(601); len(regLike.TCP.Local.Ranges()) < 200; p += 41 {
		regLike.TCP.Local.AddRange(p, p+p%3)
	}
	regLike.TCP.Remote = regLike.TCP.Local
	regLike.TCP.Remote.Add(0)
	regLike.UDP.Local, regLike.UDP.Remote = regLike.TCP.Local, regLike.TCP.Local
	b.Run("netlink-bytecode", func(b *testing.B) {
		b.ReportAllocs()
		src := NewLinux("")
		for b.Loop() {
			if _, err := src.Sockets(b.Context(), &regLike); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOwners finds the owner of one socket by walking the descriptors
// of every process, and of one process.
func BenchmarkOwners(b *testing.B) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	socks, err := NewLinux("").Sockets(b.Context(), FilterFunc(func(local, _ uint16, proto uint8) bool {
		return local == uint16(l.Addr().(*net.TCPAddr).Port) && proto == protoTCP
	}))
	if err != nil || len(socks) != 1 {
		b.Fatalf("finding the listener: %v, %v", socks, err)
	}
	inodes := map[uint64]struct{}{socks[0].Inode: {}}
	src := NewLinux("")
	for _, bc := range []struct {
		name string
		pids []int32
	}{{"all", nil}, {"one", []int32{int32(os.Getpid())}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				owners, err := src.Owners(b.Context(), inodes, bc.pids)
				if err != nil || len(owners) != 1 {
					b.Fatalf("%v, %v", owners, err)
				}
			}
		})
	}
}

// BenchmarkNamespaces finds the network namespaces with the cache warm and,
// as every snapshot did before it, with every ns/net link read.
func BenchmarkNamespaces(b *testing.B) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	for _, warm := range []bool{true, false} {
		b.Run(map[bool]string{true: "cached", false: "every-link"}[warm], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !warm {
					nsCacheFor("/proc").lastFull = time.Time{}
				}
				if _, err := others("/proc", sc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
