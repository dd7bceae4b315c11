package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/server"
)

// eventStore keeps the recent SSE events of each 2025-11-25 session so a
// client whose stream broke can resume it (Last-Event-ID). It also makes
// mcp-go hand the last notifications of a call to the response path in
// order, instead of racing the final result. Only streamed responses (calls
// that sent notifications, such as approval holds) are stored, and each
// session keeps at most maxEvents events and maxBytes bytes: the oldest go
// first, so a long session cannot grow without bound.
type eventStore struct {
	mu       sync.Mutex
	seq      int64
	sessions map[string]*sessionLog
}

const (
	maxEvents = 256
	maxBytes  = 4 << 20
)

type storedEvent struct {
	id, stream string
	msg        json.RawMessage
}

type sessionLog struct {
	events []storedEvent
	bytes  int
}

func newEventStore() *eventStore { return &eventStore{sessions: map[string]*sessionLog{}} }

var _ server.EventStore = (*eventStore)(nil)

// StoreEvent implements server.EventStore.
func (s *eventStore) StoreEvent(_ context.Context, sessionID, streamID string, message json.RawMessage) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.sessions[sessionID]
	if l == nil {
		l = &sessionLog{}
		s.sessions[sessionID] = l
	}
	s.seq++
	id := strconv.FormatInt(s.seq, 10)
	msg := append(json.RawMessage(nil), message...)
	l.events = append(l.events, storedEvent{id: id, stream: streamID, msg: msg})
	l.bytes += len(msg)
	drop := 0
	for len(l.events)-drop > maxEvents || (l.bytes > maxBytes && drop < len(l.events)-1) {
		l.bytes -= len(l.events[drop].msg)
		drop++
	}
	if drop > 0 {
		l.events = append(l.events[:0:0], l.events[drop:]...)
	}
	return id, nil
}

// ReplayEventsAfter implements server.EventStore.
func (s *eventStore) ReplayEventsAfter(_ context.Context, sessionID, lastEventID string, send func(string, json.RawMessage) error) (string, error) {
	s.mu.Lock()
	l := s.sessions[sessionID]
	var stream string
	var tail []storedEvent
	if l != nil {
		for i, ev := range l.events {
			if ev.id == lastEventID {
				stream = ev.stream
				for _, later := range l.events[i+1:] {
					if later.stream == stream {
						tail = append(tail, later)
					}
				}
				break
			}
		}
	}
	s.mu.Unlock()
	if stream == "" {
		return "", fmt.Errorf("%w: %s (events are kept for the most recent %d per session)", server.ErrUnknownEventID, lastEventID, maxEvents)
	}
	for _, ev := range tail {
		if err := send(ev.id, ev.msg); err != nil {
			return "", err
		}
	}
	return stream, nil
}

// PurgeSession implements server.EventStore.
func (s *eventStore) PurgeSession(_ context.Context, sessionID string) error {
	s.mu.Lock()
	delete(s.sessions, sessionID)
	s.mu.Unlock()
	return nil
}
