package gateway

import (
	"context"

	"github.com/airlockhq/airlock/connectors"
)

// Handler runs a call from some point of the pipeline onwards.
type Handler func(ctx context.Context, c *Call) (*connectors.Result, error)

// Stage is one step of the pipeline. It may refuse the call, enrich it and
// pass it on, or act on what comes back (recording, masking).
type Stage interface {
	Name() string
	Wrap(next Handler) Handler
}

// Chain is an ordered list of stages; the first is outermost.
type Chain []Stage

// Then builds the handler that runs the stages in order and ends in final.
// It is built once, at start-up, not per call.
func (ch Chain) Then(final Handler) Handler {
	h := final
	for i := len(ch) - 1; i >= 0; i-- {
		h = ch[i].Wrap(h)
	}
	return h
}

// Names lists the stage names in order, for logs and tests.
func (ch Chain) Names() []string {
	out := make([]string, len(ch))
	for i, s := range ch {
		out[i] = s.Name()
	}
	return out
}

// stageFunc adapts a function to Stage.
type stageFunc struct {
	name string
	wrap func(next Handler) Handler
}

func (s stageFunc) Name() string              { return s.name }
func (s stageFunc) Wrap(next Handler) Handler { return s.wrap(next) }
