package automation

import "context"

func (s *Service) registerTimers(ctx context.Context) error { return nil }
