// Go's own IPC, the twin of Weft's ipc-* rows: two Go processes, goroutine to goroutine, exchanging 64-byte
// messages over a pipe (the child's stdin and stdout, as os/exec gives them), a Unix socket and TCP loopback, all
// through Go's netpoller. The parent re-runs its own binary with a role argument for the child side.
//
// Output: "NAME.go VALUE UNIT" lines, as bench/Weft.Bench prints them.
// Usage: go run . [ROW...]   (ipc-pipe ipc-unix ipc-tcp ipc-unix-throughput; default all)
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const (
	msg    = 64
	warmup = 1000
	rounds = 20000
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipc:", err)
		os.Exit(1)
	}
}

// echo reads 64-byte messages and writes each back, n times.
func echo(r io.Reader, w io.Writer, n int) {
	buf := make([]byte, msg)
	for i := 0; i < n; i++ {
		_, err := io.ReadFull(r, buf)
		must(err)
		_, err = w.Write(buf)
		must(err)
	}
}

// ping writes a message and waits for its echo, warmup+rounds times, in a goroutine; returns ns per round trip.
func ping(r io.Reader, w io.Writer) float64 {
	done := make(chan float64)
	go func() {
		buf := make([]byte, msg)
		var start time.Time
		for i := 0; i < warmup+rounds; i++ {
			if i == warmup {
				start = time.Now()
			}
			_, err := w.Write(buf)
			must(err)
			_, err = io.ReadFull(r, buf)
			must(err)
		}
		done <- float64(time.Since(start).Nanoseconds()) / rounds
	}()
	return <-done
}

func child(role string, args []string) {
	switch role {
	case "pipe":
		echo(os.Stdin, os.Stdout, warmup+rounds)
	case "unix", "tcp":
		network := map[string]string{"unix": "unix", "tcp": "tcp"}[role]
		c, err := net.Dial(network, args[0])
		must(err)
		done := make(chan struct{})
		go func() { echo(c, c, warmup+rounds); close(done) }()
		<-done
	case "unix-throughput":
		c, err := net.Dial("unix", args[0])
		must(err)
		r := bufio.NewReaderSize(c, 64*1024)
		buf := make([]byte, msg)
		for i := 0; i < rounds*20; i++ {
			_, err := io.ReadFull(r, buf)
			must(err)
		}
		_, err = c.Write([]byte{'k'})
		must(err)
	default:
		must(fmt.Errorf("unknown role %q", role))
	}
}

func spawn(role string, args ...string) *exec.Cmd {
	self, err := os.Executable()
	must(err)
	cmd := exec.Command(self, append([]string{"child", role}, args...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func rowPipe() {
	cmd := spawn("pipe")
	in, err := cmd.StdinPipe()
	must(err)
	out, err := cmd.StdoutPipe()
	must(err)
	must(cmd.Start())
	ns := ping(out, in)
	must(cmd.Wait())
	fmt.Printf("ipc-pipe.go %.1f ns/roundtrip\n", ns)
}

func listen(network string) (net.Listener, string) {
	if network == "tcp" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(err)
		return l, l.Addr().String()
	}
	dir, err := os.MkdirTemp("", "weft-go-ipc")
	must(err)
	path := filepath.Join(dir, "s")
	l, err := net.Listen("unix", path)
	must(err)
	return l, path
}

func rowSocket(network, name string) {
	l, addr := listen(network)
	defer l.Close()
	cmd := spawn(network, addr)
	must(cmd.Start())
	c, err := l.Accept()
	must(err)
	if tc, ok := c.(*net.TCPConn); ok {
		must(tc.SetNoDelay(true))
	}
	ns := ping(c, c)
	must(cmd.Wait())
	fmt.Printf("%s.go %.1f ns/roundtrip\n", name, ns)
}

func rowUnixThroughput() {
	l, addr := listen("unix")
	defer l.Close()
	cmd := spawn("unix-throughput", addr)
	must(cmd.Start())
	c, err := l.Accept()
	must(err)
	done := make(chan float64)
	go func() {
		buf := make([]byte, msg)
		n := rounds * 20
		start := time.Now()
		for i := 0; i < n; i++ {
			_, err := c.Write(buf)
			must(err)
		}
		_, err := io.ReadFull(c, buf[:1])
		must(err)
		done <- float64(n) / time.Since(start).Seconds()
	}()
	rate := <-done
	must(cmd.Wait())
	fmt.Printf("ipc-unix-throughput.go %.0f msgs/s\n", rate)
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "child" {
		child(os.Args[2], os.Args[3:])
		return
	}
	rows := []struct {
		name string
		run  func()
	}{
		{"ipc-pipe", rowPipe},
		{"ipc-unix", func() { rowSocket("unix", "ipc-unix") }},
		{"ipc-tcp", func() { rowSocket("tcp", "ipc-tcp") }},
		{"ipc-unix-throughput", rowUnixThroughput},
	}
	want := map[string]bool{}
	for _, a := range os.Args[1:] {
		found := false
		for _, r := range rows {
			found = found || r.name == a
		}
		if !found {
			fmt.Fprintf(os.Stderr, "ipc: unknown row %q; rows: ipc-pipe ipc-unix ipc-tcp ipc-unix-throughput\n", a)
			os.Exit(2)
		}
		want[a] = true
	}
	for _, r := range rows {
		if len(want) == 0 || want[r.name] {
			r.run()
		}
	}
}
