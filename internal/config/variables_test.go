package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// recordingEnv is a getenv that remembers the names Load asks for.
type recordingEnv struct {
	values map[string]string
	asked  []string
}

func (r *recordingEnv) getenv(name string) string {
	if !slices.Contains(r.asked, name) {
		r.asked = append(r.asked, name)
	}
	return r.values[name]
}

func tableNames(mode Mode) []string {
	var names []string
	for _, v := range Variables() {
		if v.usedIn(mode) {
			names = append(names, v.Name)
		}
	}
	return names
}

// TestVariablesMatchLoad checks that each mode reads exactly the variables
// the table lists for it, whether they are unset, valid or all wrong.
func TestVariablesMatchLoad(t *testing.T) {
	var everything []string
	for _, v := range Variables() {
		everything = append(everything, v.Name)
	}
	junk := map[string]string{}
	for _, name := range everything {
		junk[name] = "?junk?"
	}
	for _, mode := range Modes() {
		for label, values := range map[string]map[string]string{
			"unset": {},
			"valid": baseEnv(mode),
			"junk":  junk,
		} {
			env := &recordingEnv{values: values}
			_, _ = Load(mode, env.getenv)
			got := slices.Sorted(slices.Values(env.asked))
			want := slices.Sorted(slices.Values(tableNames(mode)))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s with %s values reads\n %v\nthe table lists\n %v", mode, label, got, want)
			}
		}
	}
}

func TestVariablesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Variables() {
		if seen[v.Name] {
			t.Errorf("%s listed twice", v.Name)
		}
		seen[v.Name] = true
		if v.Description == "" || v.effective == nil {
			t.Errorf("%s lacks a description or an effective value", v.Name)
		}
	}
}

// TestDocumentedDefaults checks that every default the table shows as a
// plain value is what Load uses: setting it explicitly changes nothing.
func TestDocumentedDefaults(t *testing.T) {
	checked := 0
	for _, v := range Variables() {
		value, literal := strings.CutPrefix(v.Default, "`")
		value, closed := strings.CutSuffix(value, "`")
		if !literal || !closed || strings.Contains(value, "`") {
			continue // no default, or one described in words
		}
		for _, mode := range v.Modes {
			implicit, err := Load(mode, envOf(baseEnv(mode)))
			if err != nil {
				t.Fatal(err)
			}
			explicit, err := Load(mode, envOf(with(baseEnv(mode), v.Name, value)))
			if err != nil {
				t.Errorf("%s=%q (its documented default) in %s: %v", v.Name, value, mode, err)
				continue
			}
			if !reflect.DeepEqual(implicit, explicit) {
				t.Errorf("%s=%q (its documented default) in %s changes the config:\n%+v\n%+v", v.Name, value, mode, implicit, explicit)
			}
			checked++
		}
	}
	if checked < 20 {
		t.Errorf("only %d documented defaults checked; did the Default format change?", checked)
	}
}

func TestRedactedCoversMode(t *testing.T) {
	for _, mode := range Modes() {
		c, err := Load(mode, envOf(baseEnv(mode)))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for name := range c.Redacted() {
			got = append(got, name)
		}
		want := append(tableNames(mode), "mode")
		slices.Sort(got)
		slices.Sort(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Redacted keys %v, want %v", mode, got, want)
		}
	}
}

func TestReference(t *testing.T) {
	ref := Reference()
	lines := strings.Split(ref, "\n")
	if lines[0] != "| Variable | Default | Modes | Description |" {
		t.Errorf("header = %q", lines[0])
	}
	rows := map[string]string{}
	for _, line := range lines[2:] {
		if !strings.HasPrefix(line, "| ") {
			break
		}
		// Five unescaped pipes: four cells, none split by a "|" in the text.
		if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 5 {
			t.Errorf("row has %d cell separators, want 5: %s", n, line)
		}
		name := strings.Trim(strings.Fields(line)[1], "`")
		rows[name] = line
	}
	for _, v := range Variables() {
		row, ok := rows[v.Name]
		if !ok {
			t.Errorf("Reference lacks %s", v.Name)
			continue
		}
		var modes []string
		for _, m := range v.Modes {
			modes = append(modes, string(m))
		}
		if !strings.Contains(row, " | "+strings.Join(modes, ", ")+" | ") {
			t.Errorf("row of %s does not list modes %v: %s", v.Name, modes, row)
		}
	}
	if len(rows) != len(Variables()) {
		t.Errorf("Reference has %d rows, want %d", len(rows), len(Variables()))
	}
	if !strings.Contains(rows[envLogLevel], "`debug`, `info`") || !strings.Contains(rows[envGeoIPDatabase], "| — |") {
		t.Errorf("rows render wrong:\n%s\n%s", rows[envLogLevel], rows[envGeoIPDatabase])
	}
}

// TestReadmeTableIsCurrent: docs/configuration.md's table is
// Reference()'s output, so the documentation cannot drift from Load.
func TestReadmeTableIsCurrent(t *testing.T) {
	readme, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), Reference()) {
		t.Errorf("docs/configuration.md's configuration table differs from config.Reference(); replace the table with its output:\n%s", Reference())
	}
}
