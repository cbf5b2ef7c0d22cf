// Command bridge relays byte streams between TCP and Unix sockets, so that processes in different network
// namespaces can reach each other without any route between the namespaces: a Unix socket is a file, reachable from
// every namespace, while a TCP listener on 127.0.0.1 is only reachable inside its own.
//
//	bridge LISTEN=CONNECT [LISTEN=CONNECT ...]
//
// LISTEN and CONNECT are tcp:HOST:PORT or unix:PATH. Examples:
//
//	bridge unix:/state/sock/api.sock=tcp:127.0.0.1:26443   (run inside the namespace of the API server)
//	bridge tcp:127.0.0.1:26443=unix:/state/sock/api.sock   (run in the host's namespace)
//
// TCP listeners must be on a loopback address. Listening Unix sockets are removed on SIGTERM/SIGINT. A line
// "bridge ready" on stdout says every listener is open.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

type endpoint struct{ network, address string }

func (e endpoint) String() string { return e.network + ":" + e.address }

func parseEndpoint(s string) (endpoint, error) {
	network, address, ok := strings.Cut(s, ":")
	if !ok || address == "" || (network != "tcp" && network != "unix") {
		return endpoint{}, fmt.Errorf("%q: want tcp:HOST:PORT or unix:PATH", s)
	}
	return endpoint{network, address}, nil
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("bridge ")
	if len(os.Args) < 2 {
		log.Fatal("usage: bridge LISTEN=CONNECT [LISTEN=CONNECT ...] (tcp:HOST:PORT or unix:PATH)")
	}
	var listeners []net.Listener
	var sockets []string
	for _, arg := range os.Args[1:] {
		l, c, ok := strings.Cut(arg, "=")
		if !ok {
			log.Fatalf("%q: want LISTEN=CONNECT", arg)
		}
		from, err := parseEndpoint(l)
		if err != nil {
			log.Fatal(err)
		}
		to, err := parseEndpoint(c)
		if err != nil {
			log.Fatal(err)
		}
		if from.network == "tcp" {
			host, _, err := net.SplitHostPort(from.address)
			if err != nil {
				log.Fatalf("%s: %v", from, err)
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				log.Fatalf("%s: refusing to listen on a non-loopback address", from)
			}
		} else {
			if err := os.Remove(from.address); err != nil && !errors.Is(err, os.ErrNotExist) {
				log.Fatalf("%s: %v", from, err)
			}
			sockets = append(sockets, from.address)
		}
		ln, err := net.Listen(from.network, from.address)
		if err != nil {
			log.Fatalf("listen %s: %v", from, err)
		}
		if from.network == "unix" {
			if err := os.Chmod(from.address, 0o660); err != nil {
				log.Fatalf("chmod %s: %v", from, err)
			}
		}
		listeners = append(listeners, ln)
		log.Printf("%s -> %s", from, to)
		go serve(ln, to)
	}
	fmt.Println("bridge ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	log.Printf("%v: closing", s)
	for _, ln := range listeners {
		_ = ln.Close()
	}
	for _, p := range sockets {
		_ = os.Remove(p)
	}
}

func serve(ln net.Listener, to endpoint) {
	for {
		in, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Printf("accept on %s: %v", ln.Addr(), err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go relay(in, to)
	}
}

func relay(in net.Conn, to endpoint) {
	defer in.Close()
	out, err := net.DialTimeout(to.network, to.address, 5*time.Second)
	if err != nil {
		log.Printf("dial %s: %v", to, err)
		return
	}
	defer out.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		// Half-close so the other side sees EOF and the peer's reply can still flow.
		if c, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = c.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	go pipe(out, in)
	go pipe(in, out)
	wg.Wait()
}
