package api

import (
	"context"

	"github.com/scanforge/scanforge/models"
)

// checkEndpointURL applies the egress policy (Options.EndpointURLCheck) to
// an endpoint URL being saved: a refusal is a 422 on the url field whose
// message is the policy's reason.
func (s *server) checkEndpointURL(ctx context.Context, rawURL string) error {
	if s.endpointURLCheck == nil {
		return nil
	}
	if err := s.endpointURLCheck(ctx, rawURL); err != nil {
		return models.Invalid("url", err.Error())
	}
	return nil
}
