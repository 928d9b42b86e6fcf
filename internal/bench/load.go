//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// spawner starts long-lived processes from one OS thread that lives as long
// as the bench. Pdeathsig fires when the thread that forked the child exits,
// not the process, and Go ends a thread whose goroutine exits locked to it
// (the sockets package does so when it cannot bring a thread back from
// another network namespace): a child forked from that thread would be
// killed in the middle of a measurement.
type spawner chan spawnRequest

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func newSpawner() spawner {
	s := make(spawner)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread must not be reused or end
		for r := range s {
			r.done <- r.cmd.Start()
		}
	}()
	return s
}

// start starts cmd so that it is killed when the bench dies.
func (s spawner) start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	s <- spawnRequest{cmd, done}
	return <-done
}

// child is one load process, seen from the bench.
type child struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *os.File
	lines  *bufio.Reader
	exited chan struct{}
}

// load is the set of children holding sockets.
type load struct {
	children []*child
	sockets  int // held by the children
	redraws  int // ephemeral ports drawn on a registry port and drawn again
}

// startLoad starts n children holding perChild sockets each and waits until
// every one is ready. extraEnv, when not nil, adds to child i's environment.
func startLoad(ctx context.Context, sp spawner, n, perChild int, avoid []uint16, extraEnv func(i int) []string) (*load, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, errors.New("the load needs a deadline")
	}
	ports := make([]string, len(avoid))
	for i, p := range avoid {
		ports[i] = strconv.Itoa(int(p))
	}
	env := append(os.Environ(),
		childEnv+"="+strconv.Itoa(perChild),
		avoidEnv+"="+strings.Join(ports, ","),
		deadlineEnv+"="+strconv.FormatInt(deadline.Unix()+1, 10),
		"GOMAXPROCS=1", // a child only waits: fewer threads, less memory
	)
	l := &load{}
	for i := range n {
		env := env
		if extraEnv != nil {
			env = append(slices.Clip(env), extraEnv(i)...)
		}
		c, err := startChild(ctx, sp, self, env)
		if err != nil {
			l.stop()
			return nil, err
		}
		l.children = append(l.children, c)
	}
	for _, c := range l.children {
		line, err := c.readLine(ctx)
		if err != nil {
			l.stop()
			return nil, err
		}
		var socks, redraws int
		if _, err := fmt.Sscanf(line, "ready %d %d", &socks, &redraws); err != nil {
			l.stop()
			return nil, fmt.Errorf("load child %d: %s", c.cmd.Process.Pid, line)
		}
		l.sockets += socks
		l.redraws += redraws
	}
	return l, nil
}

func startChild(ctx context.Context, sp spawner, self string, env []string) (*child, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		_ = inR.Close()
		_ = inW.Close()
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, os.Stderr
	err = sp.start(cmd)
	_ = inR.Close()
	_ = outW.Close()
	if err != nil {
		_ = inW.Close()
		_ = outR.Close()
		return nil, err
	}
	c := &child{cmd: cmd, stdin: inW, stdout: outR, lines: bufio.NewReader(outR), exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// readLine reads the child's next line, giving up at ctx's deadline.
func (c *child) readLine(ctx context.Context) (string, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.stdout.SetReadDeadline(dl)
	}
	line, err := c.lines.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("load child %d: %w", c.cmd.Process.Pid, err)
	}
	return strings.TrimSpace(line), nil
}

// ghost makes the child listen on registry ports too.
func (c *child) ghost(ctx context.Context, p ghostPorts) error {
	if _, err := fmt.Fprintf(c.stdin, "ghost %d %d\n", p.tcp, p.udp); err != nil {
		return err
	}
	line, err := c.readLine(ctx)
	if err != nil {
		return err
	}
	if line != "ok" {
		return fmt.Errorf("load child %d, ghost on %d/tcp %d/udp: %s", c.cmd.Process.Pid, p.tcp, p.udp, line)
	}
	return nil
}

// stop closes every child's stdin, which ends it, and kills those still
// there after a few seconds.
func (l *load) stop() {
	for _, c := range l.children {
		_ = c.stdin.Close()
	}
	grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range l.children {
		select {
		case <-c.exited:
		case <-grace.Done():
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		_ = c.stdout.Close()
	}
	l.children = nil
}
