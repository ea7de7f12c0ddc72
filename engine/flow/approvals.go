package flow

import (
	"context"

	"github.com/formaapp/forma/schema"
)

// STUB (approvals helper replaces this file).

func (s *Service) registerApprovals(ctx context.Context) error { return nil }

func (s *Service) checkApprovals(ctx context.Context, app *schema.App) schema.Problems { return nil }
