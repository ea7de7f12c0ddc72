package flow

import (
	"context"

	"github.com/formaapp/forma/schema"
)

// STUB (flow-core helper replaces this file).

func (s *Service) registerTransitions(ctx context.Context) error { return nil }

func (s *Service) checkFlows(ctx context.Context, app *schema.App) schema.Problems { return nil }
