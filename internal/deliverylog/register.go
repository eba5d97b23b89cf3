package deliverylog

import (
	"context"
	"fmt"
	"maps"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"

	"github.com/scanforge/scanforge/workflows"
)

// RegisterSearchAttributes registers the delivery search attributes
// (workflows.SearchAttributeTypes) on namespace, if missing. It is
// idempotent, and safe to call at every start of every worker. An attribute
// already registered with another type is an error: AddSearchAttributes
// would silently keep it, and every delivery would then fail to start.
// It reports whether it added any.
func RegisterSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string) (bool, error) {
	want := workflows.SearchAttributeTypes()
	registered, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return false, fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		have, ok := registered.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = want[name]
		case have != want[name]:
			return false, fmt.Errorf("search attribute %s of namespace %s is %v, want %v: remove it or use another namespace",
				name, namespace, have, want[name])
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if err != nil {
		return false, fmt.Errorf("add search attributes %v to namespace %s: %w", slices.Sorted(maps.Keys(missing)), namespace, err)
	}
	registered, err = op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return false, fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	for name, typ := range missing {
		if have := registered.GetCustomAttributes()[name]; have != typ {
			return false, fmt.Errorf("search attribute %s (%v) is not registered on namespace %s after adding it (it has %v)",
				name, typ, namespace, have)
		}
	}
	return true, nil
}
