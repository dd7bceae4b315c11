package slack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/airlockhq/airlock/approvals"
)

// RunSocketMode receives interactions over Slack's Socket Mode, for
// deployments that Slack cannot reach: the gateway dials out with an
// app-level token (xapp-..., connections:write) and gets the same
// block_actions and view_submission payloads that Handler gets over HTTP,
// already authenticated by the connection, and decides them the same way.
// api is the bot-token client used for users.info, views.open and
// ephemeral messages. It runs until ctx ends (nil) or the connection
// fails for good.
func RunSocketMode(ctx context.Context, appToken string, api *slack.Client, svc *approvals.Service, users UserDirectory, opts ...Option) error {
	if appToken == "" {
		return errors.New("slack: socket mode needs an app-level token (xapp-...)")
	}
	i := newInteractions(svc, api, users, opts)
	// socketmode.New copies the client; the copy gets the app token for
	// apps.connections.open and keeps the bot token for everything else.
	c := *api
	slack.OptionAppLevelToken(appToken)(&c)
	sm := socketmode.New(&c, socketmode.OptionLog(zap.NewStdLog(i.log.Named("socketmode"))))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(runCtx) }()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-done
			return nil
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack: socket mode: %w", err)
		case ev := <-sm.Events:
			i.socketEvent(ctx, sm, ev)
		}
	}
}

func (i *interactions) socketEvent(ctx context.Context, sm *socketmode.Client, ev socketmode.Event) {
	switch ev.Type {
	case socketmode.EventTypeInteractive:
		cb, ok := ev.Data.(slack.InteractionCallback)
		if ev.Request != nil {
			// Acknowledge first: Slack redelivers what is not acknowledged
			// within three seconds. An empty acknowledgement also closes a
			// submitted modal.
			if err := sm.Ack(*ev.Request); err != nil {
				i.log.Warn("slack: socket mode ack failed", zap.Error(err))
			}
		}
		if !ok {
			return
		}
		hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		i.handle(hctx, cb)
	case socketmode.EventTypeConnected:
		i.log.Info("slack: socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		i.log.Warn("slack: socket mode", zap.String("event", string(ev.Type)), zap.Any("data", ev.Data))
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
		// Not ours, but unacknowledged requests are redelivered.
		if ev.Request != nil {
			_ = sm.Ack(*ev.Request)
		}
	}
}
