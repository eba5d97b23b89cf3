package testdb

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/scanforge/scanforge/models"
)

// Proxy is a TCP proxy between a test and a server (PostgreSQL) that the
// test can cut, to make the server unavailable to the code under test
// without touching the server, which other tests share.
type Proxy struct {
	upstream string
	addr     string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// StartProxy proxies a port of 127.0.0.1 to upstream until t ends.
func StartProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testdb proxy: %v", err)
	}
	p := &Proxy{upstream: upstream, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Cut closes every connection through the proxy and refuses new ones
// until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Restore accepts connections again, on the same address.
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("testdb proxy: listen again on %s: %v", p.addr, err)
	}
	p.serveLocked(ln)
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveLocked(ln)
}

func (p *Proxy) serveLocked(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return // closed by Cut
			}
			up, err := net.Dial("tcp", p.upstream)
			if err != nil {
				down.Close()
				continue
			}
			if !p.track(ln, down, up) {
				continue
			}
			p.wg.Add(2)
			go p.pipe(down, up)
			go p.pipe(up, down)
		}
	}()
}

// track registers a connection pair, unless the proxy was cut since ln
// accepted it.
func (p *Proxy) track(ln net.Listener, conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != ln {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// OpenPostgresViaProxy returns a fresh, migrated PostgreSQL database (a
// private schema, as Open) whose connections all go through a Proxy, and
// the proxy.
func OpenPostgresViaProxy(t testing.TB) (*gorm.DB, *Proxy) {
	t.Helper()
	direct := URL(t, "postgres")
	migrator, err := models.Open(direct)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	if err := models.Migrate(migrator); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	if sqlDB, err := migrator.DB(); err == nil {
		sqlDB.Close()
	}
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	proxy := StartProxy(t, u.Host)
	u.Host = proxy.Addr()
	db, err := models.Open(u.String())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db, proxy
}
