// The MIT License
//
// Copyright (c) 2022 Temporal Technologies Inc.  All rights reserved.
//
// Copyright (c) 2020 Uber Technologies, Inc.
//
// Copyright (c) 2021 Datadog, Inc.
//
// Permission is hereby granted, free of charge, to any person obtaining a copy
// of this software and associated documentation files (the "Software"), to deal
// in the Software without restriction, including without limitation the rights
// to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
// copies of the Software, and to permit persons to whom the Software is
// furnished to do so, subject to the following conditions:
//
// The above copyright notice and this permission notice shall be included in
// all copies or substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
// IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
// FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
// AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
// LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
// OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
// THE SOFTWARE.

// Adapted from github.com/temporalio/cli v1.9.1, internal/devserver/server.go
// (the recipe of `temporal server start-dev`).
package devserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"

	"github.com/google/uuid"
	"go.temporal.io/server/chasm/lib/activity"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"google.golang.org/protobuf/types/known/durationpb"
)

func sqlConfig(databaseFile string) *config.SQL {
	if databaseFile == "" {
		return &config.SQL{
			PluginName:        sqliteplugin.PluginName,
			DatabaseName:      "scanforge-dev-" + uuid.NewString(),
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}
	}
	// The plugin passes every attribute that is not a URI parameter (mode,
	// cache, …) to the driver as a pragma (_pragma=key=value).
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: databaseFile,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "5000",
		},
	}
}

// prepareDatabase sets up the schema of a new database file and creates the
// namespace if missing, before the server starts. An in-memory database gets
// its schema from the plugin on first connection.
func prepareDatabase(sqlConf *config.SQL, opts Options) error {
	if opts.DatabaseFile != "" {
		info, err := os.Stat(opts.DatabaseFile)
		switch {
		case errors.Is(err, fs.ErrNotExist) || (err == nil && info.Size() == 0):
			if _, err := os.Stat(filepath.Dir(opts.DatabaseFile)); err != nil {
				return fmt.Errorf("database directory: %w", err)
			}
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				return fmt.Errorf("set up schema in new database file %s (delete it before retrying): %w",
					opts.DatabaseFile, err)
			}
		case err != nil:
			return fmt.Errorf("database file: %w", err)
		}
		if err := trimVisibilityIndexes(opts.DatabaseFile); err != nil {
			return err
		}
	}
	// A new namespace gets retention and search attributes right away;
	// configureNamespace updates an existing one.
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return fmt.Errorf("namespace %s config: %w", opts.Namespace, err)
	}
	ns.Detail.Config.Retention = durationpb.New(opts.Retention)
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return fmt.Errorf("create namespace %s: %w", opts.Namespace, err)
	}
	return nil
}

// TunedDynamicConfig is the dynamic config of the embedded server that
// matters for throughput and features, keyed by
// dynamic config name: a standalone server given the same settings
// (internal/temporalproc) behaves like the dev one.
func TunedDynamicConfig() map[string]any {
	return map[string]any{
		// The history task queues' default of 20 loads/s per reader is the
		// first throughput limit.
		dynamicconfig.TransferProcessorMaxPollRPS.Key().String(): 10000,
		dynamicconfig.TimerProcessorMaxPollRPS.Key().String():    10000,
		// Visibility tasks are read in batches every 100 ms instead: most
		// deliveries have closed by then, and the server skips the started
		// row of a closed run, so a delivery writes one visibility row, not
		// two. Listings lag by up to 100 ms.
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key().String(): 10,
		dynamicconfig.VisibilityTaskBatchSize.Key().String():       1000,
		// Mutable states kept in memory. start-dev keeps 8096: after a burst
		// of deliveries that is hundreds of MB of finished workflows. The
		// outbox keeps at most 64 deliveries running.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key().String(): 512,
		// As start-dev.
		dynamicconfig.FrontendPersistenceMaxQPS.Key().String():                    10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key().String():                     45000,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key().String(): 100,
		dynamicconfig.EnableEagerWorkflowStart.Key().String():                     true,
		// CHASM and standalone activities, as start-dev sets them.
		dynamicconfig.EnableChasm.Key().String():                                          true,
		activity.Enabled.Key().String():                                                   true,
		activity.EnableStandaloneActivityOperatorCommands.Key().String():                  true,
		dynamicconfig.FrontendEnableBatchOperationsForStandaloneActivities.Key().String(): true,
	}
}

// dynamicConfig returns TunedDynamicConfig and what only an embedded server
// needs, with overrides applied on top.
func dynamicConfig(inMemory bool, overrides map[string]any) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{}
	for k, v := range TunedDynamicConfig() {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	// The server never stops this system worker (its pollers outlive
	// Stop); without it, history applies parent close policies inline.
	dc[dynamicconfig.EnableParentClosePolicyWorker.Key()] = false
	if inMemory {
		// The scanners garbage-collect a long-lived database; their workers
		// are never stopped either. A throwaway one needs neither.
		dc[dynamicconfig.TaskQueueScannerEnabled.Key()] = false
		dc[dynamicconfig.HistoryScannerEnabled.Key()] = false
	}
	for k, v := range overrides {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}
