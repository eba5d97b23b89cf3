package temporalproc_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/scanforge/scanforge/internal/temporalproc"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/workflows"
)

// TestServerSurvivesKill builds the official server, creates its databases
// on the test PostgreSQL, starts it, and checks that the namespace has its
// retention and ScanForge's search attributes and that a workflow started
// before a kill -9 is still there after a restart on the same ports.
func TestServerSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs the official Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	projectDir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	bins, err := temporalproc.Build(ctx, temporalproc.BuildOptions{ProjectDir: projectDir, Logs: &logs})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, logs.String())
	}

	pg := testdb.NewTemporalDatabases(t, "tproc")
	dir := t.TempDir()
	opts := temporalproc.Options{
		Binaries: bins, Dir: dir,
		Postgres: temporalproc.Postgres{Host: pg.Host, Port: pg.Port, User: pg.User, Password: pg.Password},
		Database: pg.Names[0], VisibilityDatabase: pg.Names[1],
		Namespace: "scanforge-test", Retention: 36 * time.Hour,
		Logs: &logs,
	}
	if err := temporalproc.SetupDatabases(ctx, opts); err != nil {
		t.Fatal(err)
	}
	srv, err := temporalproc.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, tail(logs.Bytes()))
	}
	defer srv.Stop()

	c, err := client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 36*time.Hour {
		t.Errorf("retention %v, want 36h", got)
	}
	attrs, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range workflows.SearchAttributeTypes() {
		if got := attrs.GetCustomAttributes()[name]; got != typ {
			t.Errorf("search attribute %s: %v, want %v", name, got, typ)
		}
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "survives-kill", TaskQueue: "nobody-polls"}, "AnyWorkflow")
	if err != nil {
		t.Fatal(err)
	}

	port := srv.Ports().Frontend
	srv.Kill()
	if _, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID()); err == nil {
		t.Fatal("the killed server still answers")
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("restart: %v\n%s", err, tail(logs.Bytes()))
	}
	if srv.Ports().Frontend != port {
		t.Errorf("restarted on port %d, want %d", srv.Ports().Frontend, port)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatalf("the workflow started before the kill: %v", err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetType().GetName(); got != "AnyWorkflow" {
		t.Errorf("workflow type %q after restart", got)
	}
}

func tail(b []byte) []byte {
	if len(b) > 6000 {
		return b[len(b)-6000:]
	}
	return b
}
