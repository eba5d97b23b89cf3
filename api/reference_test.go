package api_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/scanforge/scanforge/api"
)

var update = flag.Bool("update", false, "rewrite generated files")

// TestAPIReferenceIsCurrent: docs/api-reference.md is APIReference()'s
// output, so the reference cannot drift from openapi.json.
func TestAPIReferenceIsCurrent(t *testing.T) {
	want, err := api.APIReference()
	if err != nil {
		t.Fatal(err)
	}
	const path = "../docs/api-reference.md"
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the current APIReference(); regenerate it: go test ./api/ -run TestAPIReferenceIsCurrent -update", path)
	}
}
