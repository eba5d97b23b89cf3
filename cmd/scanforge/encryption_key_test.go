package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/scanforge/scanforge/internal/secretbox"
)

func TestDevEncryptionKeyIsMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	first, err := devEncryptionKey(dir)
	if err != nil || len(first) != secretbox.KeySize {
		t.Fatalf("first start: %d bytes, %v", len(first), err)
	}
	path := filepath.Join(dir, devKeyFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %o, want 600", perm)
	}
	again, err := devEncryptionKey(dir)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("second start got another key (%v)", err)
	}

	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := devEncryptionKey(dir); err == nil {
		t.Fatal("a broken key file was accepted (or silently replaced)")
	}
}
