package devserver

import (
	"context"
	"database/sql"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	_ "modernc.org/sqlite"
)

func greet(_ context.Context, name string) (string, error) {
	return "hello " + name, nil
}

func greetWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var greeting string
	err := workflow.ExecuteActivity(ctx, greet, name).Get(ctx, &greeting)
	return greeting, err
}

// testLogger writes to stderr rather than t.Output: server goroutines may
// still log while a test ends.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.Logger = testLogger()
	began := time.Now()
	s, err := Start(t.Context(), opts)
	require.NoError(t, err)
	t.Logf("server started in %v (informational)", time.Since(began))
	t.Cleanup(s.Stop)
	return s
}

func dial(t *testing.T, s *Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  s.FrontendAddress(),
		Namespace: s.Namespace(),
		Logger:    sdklog.NewStructuredLogger(testLogger()),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// runGreeting runs greetWorkflow to completion under workflowID and returns
// its run ID.
func runGreeting(t *testing.T, c client.Client, workflowID string) string {
	t.Helper()
	taskQueue := "devserver-test-" + workflowID
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(greetWorkflow)
	w.RegisterActivity(greet)
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(t.Context(),
		client.StartWorkflowOptions{ID: workflowID, TaskQueue: taskQueue}, greetWorkflow, "scanforge")
	require.NoError(t, err)
	var greeting string
	require.NoError(t, run.Get(t.Context(), &greeting))
	assert.Equal(t, "hello scanforge", greeting)
	return run.GetRunID()
}

func TestStartInMemory(t *testing.T) {
	t.Parallel()
	s := startServer(t, Options{})

	host, port, err := net.SplitHostPort(s.FrontendAddress())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.NotEqual(t, "0", port)
	assert.Equal(t, "default", s.Namespace())
	assert.Empty(t, s.UIAddress())

	c := dial(t, s)
	runGreeting(t, c, "in-memory")

	desc, err := c.WorkflowService().DescribeNamespace(t.Context(),
		&workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()})
	require.NoError(t, err)
	assert.Equal(t, 7*24*time.Hour, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())

	s.Stop()
	s.Stop() // idempotent
}

func TestStartFileKeepsDataAndAppliesNamespaceSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "temporal.db")

	first := startServer(t, Options{
		DatabaseFile:     dbFile,
		Namespace:        "scanforge",
		Retention:        72 * time.Hour,
		SearchAttributes: map[string]enums.IndexedValueType{"ScanforgeLinkID": enums.INDEXED_VALUE_TYPE_KEYWORD},
	})
	c := dial(t, first)
	runID := runGreeting(t, c, "file-mode")
	assertNamespace(t, c, "scanforge", 72*time.Hour, map[string]enums.IndexedValueType{
		"ScanforgeLinkID": enums.INDEXED_VALUE_TYPE_KEYWORD,
	})
	first.Stop()

	assertJournalMode(t, dbFile, "wal")
	assertVisibilityIndexes(t, dbFile)

	// The SQLite plugin shares one connection per DSN for the whole process;
	// another spelling of the same path makes the restart really reopen the
	// file. The restart also changes retention and adds an attribute, which
	// takes the update path for an existing namespace.
	second := startServer(t, Options{
		DatabaseFile: dir + "/./temporal.db",
		Namespace:    "scanforge",
		Retention:    96 * time.Hour,
		SearchAttributes: map[string]enums.IndexedValueType{
			"ScanforgeLinkID":  enums.INDEXED_VALUE_TYPE_KEYWORD,
			"ScanforgeAttempt": enums.INDEXED_VALUE_TYPE_INT,
		},
	})
	c = dial(t, second)

	desc, err := c.DescribeWorkflowExecution(t.Context(), "file-mode", runID)
	require.NoError(t, err)
	assert.Equal(t, enums.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	var last enums.EventType
	events := c.GetWorkflowHistory(t.Context(), "file-mode", runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for events.HasNext() {
		event, err := events.Next()
		require.NoError(t, err)
		last = event.GetEventType()
	}
	assert.Equal(t, enums.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, last)

	assertNamespace(t, c, "scanforge", 96*time.Hour, map[string]enums.IndexedValueType{
		"ScanforgeLinkID":  enums.INDEXED_VALUE_TYPE_KEYWORD,
		"ScanforgeAttempt": enums.INDEXED_VALUE_TYPE_INT,
	})
	runGreeting(t, c, "file-mode-after-restart")

	// A query on a custom attribute answers although most of the
	// visibility table's indexes are gone.
	require.EventuallyWithT(t, func(c2 *assert.CollectT) {
		list, err := c.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "scanforge",
			Query:     "WorkflowType = 'greetWorkflow' AND ExecutionStatus = 'Completed'",
		})
		require.NoError(c2, err)
		assert.Len(c2, list.GetExecutions(), 2)
	}, 10*time.Second, 100*time.Millisecond)
}

// assertVisibilityIndexes: the file keeps exactly the visibility indexes
// the delivery log, the UI and the server query by.
func assertVisibilityIndexes(t *testing.T, dbFile string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbFile+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.QueryContext(t.Context(),
		`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL`)
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		got[name] = true
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, keptVisibilityIndexes, got)
}

func assertNamespace(
	t *testing.T,
	c client.Client,
	namespace string,
	retention time.Duration,
	attributes map[string]enums.IndexedValueType,
) {
	t.Helper()
	desc, err := c.WorkflowService().DescribeNamespace(t.Context(),
		&workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	require.NoError(t, err)
	assert.Equal(t, retention, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())

	list, err := c.OperatorService().ListSearchAttributes(t.Context(),
		&operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	require.NoError(t, err)
	for name, typ := range attributes {
		assert.Equal(t, typ, list.GetCustomAttributes()[name], "search attribute %s", name)
	}
}

func assertJournalMode(t *testing.T, dbFile, want string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbFile+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	var mode string
	require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, want, mode)
}

func TestStartConflictingSearchAttributeFails(t *testing.T) {
	t.Parallel()
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	first := startServer(t, Options{
		DatabaseFile:     dbFile,
		SearchAttributes: map[string]enums.IndexedValueType{"ScanforgeLinkID": enums.INDEXED_VALUE_TYPE_KEYWORD},
	})
	first.Stop()

	_, err := Start(t.Context(), Options{
		DatabaseFile:     dbFile,
		Logger:           testLogger(),
		SearchAttributes: map[string]enums.IndexedValueType{"ScanforgeLinkID": enums.INDEXED_VALUE_TYPE_INT},
	})
	require.ErrorContains(t, err, "search attribute ScanforgeLinkID is registered as Keyword")
}

func TestStartWithUI(t *testing.T) {
	t.Parallel()
	uiPort, err := FreePort()
	require.NoError(t, err)
	s := startServer(t, Options{UIPort: uiPort})
	require.Equal(t, "127.0.0.1:"+strconv.Itoa(uiPort), s.UIAddress())

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.UIAddress()+"/", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	s.Stop()
	_, err = net.Dial("tcp", s.UIAddress())
	assert.Error(t, err, "UI still listening after Stop")
}

func TestStartRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"missing database directory", Options{DatabaseFile: filepath.Join(t.TempDir(), "missing", "temporal.db")}, "database directory"},
		{"retention below minimum", Options{Retention: 30 * time.Minute}, "below the server's minimum"},
		{"host name instead of IP", Options{IP: "example.com"}, "not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Logger = testLogger()
			_, err := Start(t.Context(), tt.opts)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestStartRejectsBusyFrontendPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, err = Start(t.Context(), Options{FrontendPort: l.Addr().(*net.TCPAddr).Port, Logger: testLogger()})
	require.ErrorContains(t, err, "frontend port")
}
