package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"time"

	slackapi "github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/airlockhq/airlock/approvals"
	aslack "github.com/airlockhq/airlock/approvals/slack"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/mask"
	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/recorder"
	"github.com/airlockhq/airlock/recorder/export"
)

// state is what lives in the shared store: the audit trail and approvals.
type state struct {
	store     store.Store
	rec       *recorder.Recorder
	approvals *approvals.Service
	slack     *slackapi.Client
	notifier  *aslack.Notifier
}

func openState(ctx context.Context, cfg *config.Config, masker *mask.Engine, log *zap.Logger) (*state, error) {
	st, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.Resolved(), store.WithDurability(store.Durability(cfg.Store.Durability)))
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	key, created, err := recorder.LoadOrCreateKey(cfg.Recorder.SigningKey)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("app: recorder signing key: %w", err)
	}
	if created {
		// Auditors verify checkpoints with this key; it must be kept apart
		// from the store it protects.
		log.Warn("generated the audit signing key; give its public key to your auditors (airlock audit verify --public-key)",
			zap.String("signing_key", cfg.Recorder.SigningKey),
			zap.String("public_key", string(recorder.PublicKeyPEM(key.Public().(ed25519.PublicKey)))))
	}
	rec, err := recorder.New(ctx, st, recorder.Options{
		SigningKey: key, CheckpointEvery: cfg.Recorder.CheckpointEvery, CheckpointInterval: cfg.Recorder.CheckpointInterval.D(),
		Retention: cfg.Recorder.Retention.D(), Log: log.Named("recorder"),
		Journal: cfg.Recorder.JournalDir(cfg.Store), JournalFsync: cfg.Store.Durability == string(store.DurabilityFsync),
		Masker: recorder.MaskerFunc(func(s string) string { t, _ := masker.Text(s); return t }),
	})
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	s := &state{store: st, rec: rec}
	s.approvals = approvals.New(st, s.newNotifier(cfg, log), approvals.Options{
		Hold: cfg.Approvals.Hold.D(), RequestTTL: cfg.Approvals.RequestTTL.D(), ApprovalTTL: cfg.Approvals.ApprovalTTL.D(),
		Consume: cfg.Approvals.Consume, Window: cfg.Approvals.Window.D(), MaxGrant: cfg.Approvals.MaxGrant.D(),
		ApproverGroups: cfg.Approvals.ApproverGroups, Log: log.Named("approvals"), OnEvent: s.recordApproval,
	})
	return s, nil
}

func (s *state) newNotifier(cfg *config.Config, log *zap.Logger) approvals.Notifier {
	sc := cfg.Approvals.Slack
	if sc.BotToken.Value() == "" {
		return nil
	}
	var opts []slackapi.Option
	if sc.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(sc.APIURL))
	}
	s.slack = slackapi.New(sc.BotToken.Value(), opts...)
	s.notifier = aslack.NewNotifier(s.slack, sc.Channel, aslack.NotifierOptions{ChannelName: sc.Channel, Log: log.Named("slack")})
	return s.notifier
}

// recordApproval turns approval events into audit events.
func (s *state) recordApproval(_ context.Context, kind approvals.EventKind, payload any) {
	ev, err := recorder.NewEvent(string(kind), payload)
	if err != nil {
		return
	}
	ev.Time = time.Now().UTC()
	switch v := payload.(type) {
	case approvals.RequestView:
		ev.Subject = v.Subject
	case approvals.GrantView:
		ev.Subject = v.Subject
	case approvals.Refusal:
		ev.Subject = v.Approver
	}
	_ = s.rec.Enqueue(ev)
}

// runBackground starts what runs beside the gateway: the approvals sweep,
// Slack Socket Mode, and one export loop per sink.
func (s *state) runBackground(ctx context.Context, cfg *config.Config, log *zap.Logger) {
	go func() { _ = s.approvals.Run(ctx, 30*time.Second) }()
	sc := cfg.Approvals.Slack
	if s.slack != nil && sc.AppToken.Value() != "" {
		go func() {
			err := aslack.RunSocketMode(ctx, sc.AppToken.Value(), s.slack, s.approvals, aslack.StaticDirectory(sc.Approvers),
				aslack.WithLogger(log.Named("slack")))
			if err != nil && ctx.Err() == nil {
				log.Error("slack socket mode stopped", zap.Error(err))
			}
		}()
	}
	for _, sk := range cfg.Recorder.Sinks {
		sink, err := newSink(sk)
		if err != nil {
			log.Error("sink not started", zap.String("sink", sk.Name), zap.Error(err))
			continue
		}
		go func() {
			err := export.Run(ctx, s.store, sink, export.RunOptions{Wake: s.rec.Committed, Log: log.Named("sink").With(zap.String("sink", sk.Name))})
			if err != nil && ctx.Err() == nil {
				log.Error("sink stopped", zap.String("sink", sk.Name), zap.Error(err))
			}
		}()
	}
}

func newSink(sk config.Sink) (export.Sink, error) {
	switch sk.Kind {
	case "file":
		return export.NewFile(sk.Name, sk.Path, sk.MaxBytes, sk.Keep), nil
	case "syslog":
		u, err := url.Parse(sk.Address)
		if err != nil {
			return nil, err
		}
		var tc *tls.Config
		if u.Scheme == "tls" {
			tc = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		}
		return export.NewSyslog(sk.Name, u.Host, tc), nil
	case "webhook":
		return export.NewWebhook(sk.Name, sk.URL, nil, nil), nil
	}
	return nil, fmt.Errorf("unknown sink kind %q", sk.Kind)
}

// recordLoaded writes config.loaded and policy.loaded at start.
func (s *state) recordLoaded(ctx context.Context, cfg *config.Config, policyHash, version string) error {
	cfgHash := ""
	if cfg.Path != "" {
		if b, err := os.ReadFile(cfg.Path); err == nil {
			sum := sha256.Sum256(b)
			cfgHash = "sha256:" + hex.EncodeToString(sum[:])
		}
	}
	for _, e := range []struct {
		typ  string
		data recorder.LoadedData
	}{
		{recorder.TypeConfigLoaded, recorder.LoadedData{Path: cfg.Path, Hash: cfgHash, Version: version, KeyID: s.rec.KeyID()}},
		{recorder.TypePolicyLoaded, recorder.LoadedData{Path: cfg.Policy.Dir, Hash: policyHash, Version: version}},
	} {
		ev, err := recorder.NewEvent(e.typ, e.data)
		if err != nil {
			return err
		}
		ev.Time, ev.Subject = time.Now().UTC(), "airlock"
		if _, err := s.rec.Append(ctx, ev); err != nil {
			return fmt.Errorf("app: recording start-up: %w", err)
		}
	}
	return nil
}

func (s *state) close() {
	s.approvals.Close()
	_ = s.rec.Close()
	_ = s.store.Close()
}
