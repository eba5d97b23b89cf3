package enrich

import (
	"context"
	"fmt"
	"os"
	"time"
)

// fileStamp identifies one version of a file well enough to notice that it
// was replaced: geoipupdate renames a new file over the old one, which
// changes both (a rewrite in place changes at least the time).
type fileStamp struct {
	size    int64
	modTime time.Time
}

func (a fileStamp) same(b fileStamp) bool { return a.size == b.size && a.modTime.Equal(b.modTime) }

func statFile(path string) (fileStamp, error) {
	info, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	if info.IsDir() {
		return fileStamp{}, fmt.Errorf("%s is a directory", path)
	}
	return fileStamp{size: info.Size(), modTime: info.ModTime()}, nil
}

// Watch reloads the database without a restart until ctx ends:
//
//   - at once whenever reload delivers a value (the binary sends SIGHUP
//     there; a nil channel never does);
//   - when poll > 0, whenever the file's size or modification time differs
//     from the last version seen, checked every poll.
//
// onReload, if not nil, learns the outcome of every attempt (nil on
// success). A failed reload keeps the loaded database, and a broken file is
// not retried until it changes again or a signal asks.
func (g *GeoIP) Watch(ctx context.Context, reload <-chan os.Signal, poll time.Duration, onReload func(error)) {
	attempt := func() {
		err := g.Reload()
		if onReload != nil {
			onReload(err)
		}
	}
	var tick <-chan time.Time
	if poll > 0 {
		ticker := time.NewTicker(poll)
		defer ticker.Stop()
		tick = ticker.C
	}
	seen := *g.loaded.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
			attempt()
			if loaded := g.loaded.Load(); loaded != nil {
				seen = *loaded
			}
		case <-tick:
			now, err := statFile(g.path)
			if err != nil || now.same(seen) {
				continue // missing for a moment (mid-replace) or unchanged
			}
			seen = now
			attempt()
		}
	}
}
