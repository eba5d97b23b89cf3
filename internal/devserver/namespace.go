package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"
)

// configureNamespace waits for the frontend to answer, then applies
// retention and search attributes to an existing namespace (a new one got
// them at creation). It reports whether it changed anything.
func configureNamespace(ctx context.Context, address string, opts Options, logger *slog.Logger) (bool, error) {
	clientTLS, err := opts.TLS.clientTLS()
	if err != nil {
		return false, err
	}
	c, err := client.DialContext(ctx, client.Options{
		HostPort:          address,
		Namespace:         opts.Namespace,
		Logger:            sdklog.NewStructuredLogger(logger),
		ConnectionOptions: client.ConnectionOptions{TLS: clientTLS},
	})
	if err != nil {
		return false, fmt.Errorf("temporal frontend at %s not answering: %w", address, err)
	}
	defer c.Close()

	retentionChanged, err := applyRetention(ctx, c.WorkflowService(), opts.Namespace, opts.Retention)
	if err != nil {
		return false, err
	}
	attributesAdded, err := registerSearchAttributes(ctx, c.OperatorService(), opts.Namespace, opts.SearchAttributes)
	if err != nil {
		return false, err
	}
	return retentionChanged || attributesAdded, nil
}

func applyRetention(
	ctx context.Context,
	svc workflowservice.WorkflowServiceClient,
	namespace string,
	retention time.Duration,
) (bool, error) {
	desc, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return false, fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	if desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() == retention {
		return false, nil
	}
	_, err = svc.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: namespace,
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(retention)},
	})
	if err != nil {
		return false, fmt.Errorf("set retention of namespace %s to %v: %w", namespace, retention, err)
	}
	return true, nil
}

// registerSearchAttributes adds the missing attributes. AddSearchAttributes
// silently keeps an existing name of another type, hence the checks against
// ListSearchAttributes before and after.
func registerSearchAttributes(
	ctx context.Context,
	svc operatorservice.OperatorServiceClient,
	namespace string,
	want map[string]enums.IndexedValueType,
) (bool, error) {
	if len(want) == 0 {
		return false, nil
	}
	registered, err := svc.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return false, fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := registered.GetSystemAttributes()[name]; ok {
			return false, fmt.Errorf("search attribute %s is a system attribute", name)
		}
		have, ok := registered.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = want[name]
		case have != want[name]:
			return false, fmt.Errorf("search attribute %s is registered as %v, want %v", name, have, want[name])
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	_, err = svc.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if err != nil {
		return false, fmt.Errorf("add search attributes to namespace %s: %w", namespace, err)
	}
	registered, err = svc.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return false, fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	for name, typ := range missing {
		if have, ok := registered.GetCustomAttributes()[name]; !ok || have != typ {
			return false, fmt.Errorf("search attribute %s (%v) not registered after adding it", name, typ)
		}
	}
	return true, nil
}
