package models

// Reading the rollups: the fewest quarter, month and day rows that cover a
// range, added up in Go.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// rollupRow is a sum of scan_rollups rows.
type rollupRow struct {
	Dim, K1, K2, K3, Name                    string
	Humans, Bots, HumanVisitors, BotVisitors int64
}

// split returns r's humans and bots as the bot filter b lets them count.
func (r rollupRow) split(b BotFilter) (humans, bots tally) {
	if b != BotsOnly {
		humans = tally{r.Humans, r.HumanVisitors}
	}
	if b != BotsExclude {
		bots = tally{r.Bots, r.BotVisitors}
	}
	return humans, bots
}

// addRolledStats counts the scans of the whole UTC days [first, last)
// that the rollups count: each day's totals from its day rows; the
// breakdowns from the fewest periods that make the range (see coverDays).
func addRolledStats(db *gorm.DB, acc *statsAcc, workspaceID, codeID string, bots BotFilter, first, last time.Time) error {
	var spans []rollupSpan
	coverDays(&spans, 1, 0, first, last)
	// One range of the primary key per span and dimension, read as it
	// comes and added up here (SQLite would sort every row to group them),
	// each row as two texts: SQLite's driver pays for every column of
	// every row more than for the row itself.
	sep := "char(31)"
	if db.Dialector.Name() == "postgres" {
		sep = "chr(31)"
	}
	var parts []string
	var args []any
	for _, sp := range spans {
		for _, d := range rollupDims {
			if d.name == "code" && codeID != workspaceRollups {
				continue
			}
			parts = append(parts, fmt.Sprintf(`SELECT dim || %[2]s || k1 || %[2]s || k2 || %[2]s || k3 || %[2]s || name,
	(%[1]d * humans) || ' ' || (%[1]d * bots) || ' ' || (%[1]d * human_visitors) || ' ' || (%[1]d * bot_visitors) FROM scan_rollups
	WHERE code_id = ? AND workspace_id = ? AND grain = ? AND dim = ? AND period >= ? AND period < ?`, sp.sign, sep))
			args = append(args, codeID, workspaceID, sp.grain, d.name, sp.from, sp.to)
		}
	}
	sum, err := sumRollups(db, joinUnion(parts), args)
	if err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	for _, r := range sum {
		humans, botTally := r.split(bots)
		both := tally{humans.scans + botTally.scans, humans.visitors + botTally.visitors}
		switch r.Dim {
		case "geo":
			acc.addGeo(r.K1, r.K2, r.K3, r.Name, both)
		case "device":
			acc.device.add(Bucket{Key: r.K1}, both)
		case "browser":
			acc.browser.add(Bucket{Key: r.K1}, both)
		case "os":
			acc.os.add(Bucket{Key: r.K1}, both)
		case "source":
			acc.source.add(Bucket{Key: r.K1}, both)
		case "reason":
			acc.reason.add(Bucket{Key: r.K1}, botTally)
		case "code":
			acc.code.add(Bucket{Key: r.K1}, both)
		}
	}
	const sums = `sum(humans) AS humans, sum(bots) AS bots, sum(human_visitors) AS human_visitors, sum(bot_visitors) AS bot_visitors`
	var rows []rollupRow
	// Every scan has one source: a day's source rows add up to its scans.
	err = db.Raw(`SELECT period AS k1, `+sums+` FROM scan_rollups
	WHERE code_id = ? AND workspace_id = ? AND grain = 'd' AND dim = 'source' AND period >= ? AND period < ? GROUP BY period`,
		codeID, workspaceID, first.Format(time.DateOnly), last.Format(time.DateOnly)).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("rollups by day: %w", err)
	}
	for _, r := range rows {
		humans, botTally := r.split(bots)
		acc.addDay(r.K1, false, humans)
		acc.addDay(r.K1, true, botTally)
	}
	return nil
}

func joinUnion(parts []string) string {
	out := parts[0]
	for _, p := range parts[1:] {
		out += "\nUNION ALL " + p
	}
	return out
}

// sumRollups runs query, whose rows are two texts: the key (dim, k1, k2,
// k3 and name, separated by U+001F) and the counts (humans, bots,
// human_visitors and bot_visitors, separated by spaces), and adds them up
// by (dim, k1, k2, k3).
func sumRollups(db *gorm.DB, query string, args []any) (map[string]rollupRow, error) {
	rows, err := db.Raw(query, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sum := map[string]rollupRow{}
	var key, counts string
	for rows.Next() {
		if err := rows.Scan(&key, &counts); err != nil {
			return nil, err
		}
		cut := strings.LastIndexByte(key, 0x1f)
		r, seen := sum[key[:cut]]
		if !seen {
			f := strings.Split(key, "\x1f")
			if len(f) != 5 {
				return nil, fmt.Errorf("rollup key %q: want 5 fields", key)
			}
			r.Dim, r.K1, r.K2, r.K3 = f[0], f[1], f[2], f[3]
		}
		r.Name = max(r.Name, key[cut+1:])
		for _, n := range []*int64{&r.Humans, &r.Bots, &r.HumanVisitors, &r.BotVisitors} {
			field, rest, _ := strings.Cut(counts, " ")
			v, err := strconv.ParseInt(field, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("rollup counts %q: %w", counts, err)
			}
			*n += v
			counts = rest
		}
		sum[key[:cut]] = r
	}
	return sum, rows.Err()
}

// A rollupSpan is the periods [from, to) of one grain, added (sign 1) or
// taken away (-1).
type rollupSpan struct {
	sign            int
	grain, from, to string
}

// rollupGrains are the grains of scan_rollups, coarsest first: where each
// period starts, and its label.
var rollupGrains = []struct {
	grain string
	start func(t time.Time) time.Time
	next  func(start time.Time) time.Time
	label func(t time.Time) string
}{
	{"q", func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month()-(t.Month()-1)%3, 1, 0, 0, 0, 0, time.UTC)
	},
		func(start time.Time) time.Time { return start.AddDate(0, 3, 0) },
		func(t time.Time) string { return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())+2)/3) }},
	{"m", func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) },
		func(start time.Time) time.Time { return start.AddDate(0, 1, 0) },
		func(t time.Time) string { return t.Format("2006-01") }},
	{"d", startOfDay, func(start time.Time) time.Time { return start.AddDate(0, 0, 1) },
		func(t time.Time) string { return t.Format(time.DateOnly) }},
}

// coverDays appends to spans the periods that make the whole UTC days
// [from, to), times sign, from grain g of rollupGrains down: whole
// periods of grain g as they are (one span for a run of them); part of one
// as finer periods, or as the whole period less the finer periods of the
// rest of it when the rest is the shorter time.
func coverDays(spans *[]rollupSpan, sign, g int, from, to time.Time) {
	gr := rollupGrains[g]
	if g == len(rollupGrains)-1 {
		if from.Before(to) {
			*spans = append(*spans, rollupSpan{sign, gr.grain, gr.label(from), gr.label(to)})
		}
		return
	}
	for at := from; at.Before(to); {
		start := gr.start(at)
		end := gr.next(start)
		upTo := end
		if to.Before(end) {
			upTo = to
		}
		switch inside := upTo.Sub(at); {
		case at.Equal(start) && upTo.Equal(end):
			n := len(*spans)
			if n > 0 && (*spans)[n-1].grain == gr.grain && (*spans)[n-1].sign == sign && (*spans)[n-1].to == gr.label(start) {
				(*spans)[n-1].to = gr.label(end)
			} else {
				*spans = append(*spans, rollupSpan{sign, gr.grain, gr.label(start), gr.label(end)})
			}
		case end.Sub(start)-inside < inside:
			*spans = append(*spans, rollupSpan{sign, gr.grain, gr.label(start), gr.label(end)})
			coverDays(spans, -sign, g+1, start, at)
			coverDays(spans, -sign, g+1, upTo, end)
		default:
			coverDays(spans, sign, g+1, at, upTo)
		}
		at = upTo
	}
}
