package vtab

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// liveHost opens sockets on loopback, on ports the kernel picks (high and
// unprivileged, so no root is needed): a TCP listener with both ends of a
// connection to it, a UDP socket, and a TCP listener on ::1 when IPv6 is
// there. It returns the ports and a registry that names them.
type liveHost struct {
	tcp, udp, tcp6 int // tcp6 is 0 without IPv6
	client         int // the client end's ephemeral port
	registry       string
}

func openLive(t *testing.T) liveHost {
	t.Helper()
	var h liveHost
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	h.tcp = l.Addr().(*net.TCPAddr).Port

	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close() })
	h.client = client.LocalAddr().(*net.TCPAddr).Port

	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	h.udp = u.LocalAddr().(*net.UDPAddr).Port

	if l6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		t.Cleanup(func() { l6.Close() })
		h.tcp6 = l6.Addr().(*net.TCPAddr).Port
	} else {
		t.Logf("no IPv6 loopback (%v): the IPv6 listener is left out", err)
	}

	entries := []entry{{h.tcp, "tcp", "test-tcp", "dead-product", "1999"}, {h.udp, "udp", "test-udp", "historic-rfc", "1999"}}
	if h.tcp6 != 0 {
		entries = append(entries, entry{h.tcp6, "tcp", "test-tcp6", "dead-protocol", "1999"})
	}
	h.registry = registryYAML(entries...)
	return h
}

// TestLiveSockets runs SQL over this host's real sockets and finds the ones
// the test opened, each with this process behind it.
func TestLiveSockets(t *testing.T) {
	h := openLive(t)
	db := openDB(t, definitions(t, sockets.Default(), h.registry))
	pid := strconv.Itoa(os.Getpid())
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(string(comm))

	// Other processes, or containers, may hold sockets on the same port
	// numbers; the rows of this process are the test's.
	ports := fmt.Sprintf("%d, %d", h.tcp, h.udp)
	listeners := fmt.Sprintf("127.0.0.1|%d|tcp|listen|test-tcp\n", h.tcp)
	if h.tcp6 != 0 {
		ports += fmt.Sprintf(", %d", h.tcp6)
		listeners += fmt.Sprintf("::1|%d|tcp|listen|test-tcp6\n", h.tcp6)
	}
	listeners += fmt.Sprintf("127.0.0.1|%d|udp|listen|test-udp", h.udp)
	mine := "pid = " + pid
	runQueries(t, db, []queryTest{
		{"IN list on port", fmt.Sprintf("SELECT local_address, local_port, remote_port, transport, direction FROM legacy_ports WHERE port IN (%s) AND %s AND port = %d ORDER BY direction", ports, mine, h.tcp),
			fmt.Sprintf("127.0.0.1|%d|%d|tcp|inbound\n127.0.0.1|%d|0|tcp|listen\n127.0.0.1|%d|%d|tcp|outbound", h.tcp, h.client, h.tcp, h.client, h.tcp)},
		{"process columns", fmt.Sprintf("SELECT DISTINCT pid, process_name FROM legacy_ports WHERE port IN (%s) AND %s", ports, mine),
			pid + "|" + name},
		{"indexed equalities", fmt.Sprintf("SELECT local_port FROM legacy_ports WHERE port = %d AND direction = 'listen' AND protocol = 17 AND %s", h.udp, mine),
			strconv.Itoa(h.udp)},
		{"non-indexed column", "SELECT count(*) FROM legacy_ports WHERE local_address = '127.0.0.1' AND state = 'ESTABLISHED' AND " + mine,
			"2"},
		{"join with the registry", fmt.Sprintf("SELECT lp.local_address, lp.local_port, lp.transport, lp.direction, r.service FROM legacy_ports lp JOIN legacy_port_registry r ON r.port = lp.port AND r.protocol = lp.protocol WHERE lp.%s AND lp.direction = 'listen' ORDER BY r.service", mine),
			listeners},
		{"group by", fmt.Sprintf("SELECT direction, count(*) FROM legacy_ports WHERE %s GROUP BY direction ORDER BY direction", mine),
			fmt.Sprintf("inbound|1\nlisten|%d\noutbound|1", strings.Count(listeners, "\n")+1)},
		{"verdicts", "SELECT DISTINCT verdict FROM legacy_ports WHERE " + mine, "ghost"},
	})
}
