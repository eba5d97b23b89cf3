package devserver

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/dynamicconfig"
)

// devOnlySettings are the dev server's settings the production Temporal
// server keeps at its defaults, and why.
var devOnlySettings = map[string]string{
	// Only serve and worker in one process (dev) can take a workflow's
	// first task inline.
	"system.enableEagerWorkflowStart": "serve and worker are separate processes",
	// Turned off because the embedded server never stops that system
	// worker; a standalone server stops its own.
	"system.enableParentClosePolicyWorker": "only the embedded server leaks it",
	// Features start-dev enables; ScanForge uses neither.
	"history.enableChasm":                                   "start-dev parity, unused",
	"activity.enableStandalone":                             "start-dev parity, unused",
	"history.enableStandaloneActivityOperatorCommands":      "start-dev parity, unused",
	"frontend.enableBatchOperationsForStandaloneActivities": "start-dev parity, unused",
}

// TestDeployDynamicConfigMatchesDev checks that the dynamic config file the
// production Temporal server runs with (deploy/temporal/dynamicconfig.yaml,
// mounted by docker-compose.yml) holds the same throughput settings as the
// embedded dev server, with keys and values the server accepts.
func TestDeployDynamicConfigMatchesDev(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/temporal/dynamicconfig.yaml")
	require.NoError(t, err)
	file := dynamicconfig.LoadYamlFile(raw)
	require.NoError(t, file.Err())
	assert.Empty(t, file.Warnings, "unknown keys or invalid values")

	devOnly := map[dynamicconfig.Key]bool{}
	for name := range devOnlySettings {
		devOnly[dynamicconfig.MakeKey(name)] = true
	}
	dev := dynamicConfig(false, nil)
	for key, value := range dev {
		if devOnly[key] {
			_, inFile := file.Map[key]
			assert.False(t, inFile, "%s is a dev-only setting", key)
			continue
		}
		values, ok := file.Map[key]
		if !assert.True(t, ok, "%s = %v is missing from the production file", key, value) {
			continue
		}
		if assert.Len(t, values, 1, "%s: one value without constraints", key) {
			assert.Equal(t, value, values[0].Value, "%s", key)
			assert.Zero(t, values[0].Constraints, "%s: one value without constraints", key)
		}
	}
	for key := range file.Map {
		_, ok := dev[key]
		assert.True(t, ok, "%s is set in production but not in dev mode", key)
	}
	for key := range devOnly {
		_, ok := dev[key]
		assert.True(t, ok, "devOnlySettings names %s, which dev mode does not set", key)
	}
}
