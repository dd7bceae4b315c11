package export

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/airlockhq/airlock/recorder"
)

// Webhook POSTs each batch as a JSON array to a URL. Any 2xx answer means
// delivered; anything else (or no answer) fails the batch, which Run
// retries with exponential backoff. The Idempotency-Key header names the
// batch's seq range, so a receiver can drop a repeated batch whole.
type Webhook struct {
	name, url string
	header    http.Header
	client    *http.Client
}

// NewWebhook returns a webhook sink. header is sent with every request
// (e.g. Authorization); client nil means a client with a 30s timeout.
func NewWebhook(name, url string, header http.Header, client *http.Client) *Webhook {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Webhook{name: name, url: url, header: header, client: client}
}

// Name implements Sink.
func (s *Webhook) Name() string { return s.name }

// Deliver implements Sink.
func (s *Webhook) Deliver(ctx context.Context, events []recorder.Event) error {
	var body bytes.Buffer
	body.WriteByte('[')
	for i, e := range events {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(bytes.TrimSuffix(JSONLine(e), []byte("\n")))
	}
	body.WriteByte(']')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, &body)
	if err != nil {
		return fmt.Errorf("export: %s: %w", s.name, err)
	}
	for k, vs := range s.header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	if len(events) > 0 {
		req.Header.Set("Idempotency-Key", fmt.Sprintf("airlock-%d-%d", events[0].Seq, events[len(events)-1].Seq))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("export: %s: post: %w", s.name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("export: %s: post: %s", s.name, resp.Status)
	}
	return nil
}

// Close implements Sink.
func (s *Webhook) Close() error {
	s.client.CloseIdleConnections()
	return nil
}
