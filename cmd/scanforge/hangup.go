package main

import (
	"os"
	"os/signal"
	"syscall"
)

// hangups relays SIGHUP, which asks a running server to re-read its GeoIP
// database (`kill -HUP PID` after geoipupdate), instead of letting it end
// the process.
func hangups() <-chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch
}
