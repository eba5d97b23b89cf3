// Package procstat reads CPU times of processes from Linux's /proc, for
// benchmarks that put a process's CPU next to the work it did.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// stat reads /proc/PID/stat.
func stat(pid string) (name string, fields []string, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", nil, err
	}
	return parse(string(b))
}

// parse splits a /proc/PID/stat line into the command name and the fields
// after it. The name is in parentheses and may itself hold spaces and
// parentheses: it ends at the last ')'.
func parse(s string) (name string, fields []string, err error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", nil, fmt.Errorf("procstat: odd stat line %q", s)
	}
	fields = strings.Fields(s[end+1:])
	if len(fields) <= cstime {
		return "", nil, fmt.Errorf("procstat: short stat line %q", s)
	}
	return s[open+1 : end], fields, nil
}

// sum adds the clock-tick fields at indexes (counted after the name).
func sum(fields []string, indexes ...int) time.Duration {
	var ticks int64
	for _, i := range indexes {
		v, _ := strconv.ParseInt(fields[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// Field indexes after the name: utime, stime, cutime, cstime.
const (
	utime  = 11
	stime  = 12
	cutime = 13
	cstime = 14
)

// CPU returns the user+system CPU time of process pid so far, or 0 when
// it cannot be read.
func CPU(pid int) time.Duration {
	_, fields, err := stat(strconv.Itoa(pid))
	if err != nil {
		return 0
	}
	return sum(fields, utime, stime)
}

// PostgresCPU returns the CPU time so far of a PostgreSQL server on this
// machine: every process named postgres, with the children it has reaped
// (the backends of closed connections). 0 when none is visible, e.g. a
// remote server.
func PostgresCPU() time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		name, fields, err := stat(d.Name())
		if err != nil || !strings.HasPrefix(name, "postgres") {
			continue
		}
		total += sum(fields, utime, stime, cutime, cstime)
	}
	return total
}
