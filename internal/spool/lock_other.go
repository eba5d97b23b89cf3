//go:build !unix

package spool

import "os"

// lockDir opens the lock file; without flock the directory is not
// protected from a second process.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
}

func syncDir(string) error { return nil }
