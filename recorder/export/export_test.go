package export_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/recorder"
	"github.com/airlockhq/airlock/recorder/export"
)

// trail is a store with a live recorder.
type trail struct {
	st  store.Store
	rec *recorder.Recorder
}

func newTrail(t *testing.T) *trail {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	r, err := recorder.New(context.Background(), st, recorder.Options{SigningKey: key, CheckpointEvery: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); st.Close() })
	return &trail{st: st, rec: r}
}

// appendPaced appends n events, one every gap, so an outage happens
// while the trail grows.
func (tr *trail) appendPaced(t *testing.T, n int, gap time.Duration) {
	for i := range n {
		e, _ := recorder.NewEvent(recorder.TypeCallIntent, recorder.IntentData{Tool: "sql_query", Connection: "prod-db",
			Arguments: map[string]any{"sql": fmt.Sprintf("SELECT %d", i)}, Decision: &recorder.DecisionData{Allow: true, Policy: "p"}})
		e.CallID, e.SessionID, e.Subject, e.Verified = fmt.Sprint("call_", i), "sess", "alice", true
		if _, err := tr.rec.Append(context.Background(), e); err != nil {
			t.Error(err)
			return
		}
		time.Sleep(gap)
	}
}

func (tr *trail) run(t *testing.T, sink export.Sink) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = export.Run(ctx, tr.st, sink, export.RunOptions{Batch: 25, Poll: 50 * time.Millisecond, Wake: tr.rec.Committed,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	}()
	return func() { cancel(); <-done }
}

// seen counts deliveries per seq.
type seen struct {
	mu sync.Mutex
	n  map[int64]int
}

func (s *seen) add(seq int64) {
	s.mu.Lock()
	if s.n == nil {
		s.n = map[int64]int{}
	}
	s.n[seq]++
	s.mu.Unlock()
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.n)
}

// waitAll waits until seqs 1..n arrived and returns how many arrived twice.
func (s *seen) waitAll(t *testing.T, n int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.count() < n {
		if time.Now().After(deadline) {
			s.mu.Lock()
			var missing []int64
			for i := int64(1); i <= int64(n); i++ {
				if s.n[i] == 0 {
					missing = append(missing, i)
				}
			}
			s.mu.Unlock()
			t.Fatalf("after 30s, %d of %d events arrived; missing %v", s.count(), n, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dups := 0
	for seq, c := range s.n {
		if seq < 1 || seq > int64(n) {
			t.Errorf("unexpected seq %d", seq)
		}
		if c > 1 {
			dups++
		}
	}
	return dups
}

var seqParam = regexp.MustCompile(` seq="(\d+)"`)

// syslogReceiver is a TCP syslog server reading octet-counted frames.
type syslogReceiver struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	got   *seen
	first chan string
}

func startSyslog(t *testing.T, addr string, got *seen) *syslogReceiver {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old listener's port may take a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := &syslogReceiver{ln: ln, got: got, first: make(chan string, 1)}
	go r.serve()
	return r
}

func (r *syslogReceiver) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns = append(r.conns, c)
		r.mu.Unlock()
		go r.read(c)
	}
}

func (r *syslogReceiver) read(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		lenStr, err := br.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
		if err != nil {
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			return
		}
		m := seqParam.FindSubmatch(msg)
		if m == nil {
			return
		}
		seq, _ := strconv.ParseInt(string(m[1]), 10, 64)
		r.got.add(seq)
		select {
		case r.first <- string(msg):
		default:
		}
	}
}

func (r *syslogReceiver) stop() {
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
}

func TestSyslogReceiverDownAndBack(t *testing.T) {
	tr := newTrail(t)
	got := &seen{}
	recv := startSyslog(t, "127.0.0.1:0", got)
	addr := recv.ln.Addr().String()
	stop := tr.run(t, export.NewSyslog("siem", addr, nil))
	defer stop()
	const n = 300
	done := make(chan struct{})
	go func() { tr.appendPaced(t, n, 2*time.Millisecond); close(done) }()

	msg := <-recv.first
	if !strings.HasPrefix(msg, "<110>1 ") || !strings.Contains(msg, " airlock - call.intent [airlock@32473 seq=") ||
		!strings.Contains(msg, "] \ufeff{\"seq\":") {
		t.Errorf("RFC 5424 message = %q", msg)
	}
	for got.count() < 60 {
		time.Sleep(5 * time.Millisecond)
	}
	recv.stop() // the SIEM goes down mid-stream
	time.Sleep(300 * time.Millisecond)
	t.Logf("receiver down after %d events", got.count())
	recv = startSyslog(t, addr, got)
	defer recv.stop()
	<-done
	dups := got.waitAll(t, n)
	t.Logf("all %d events arrived; %d more than once (at least once, dedup by seq)", n, dups)
}

func TestSyslogTLS(t *testing.T) {
	tr := newTrail(t)
	srv := httptest.NewUnstartedServer(nil) // for its self-signed certificate
	srv.StartTLS()
	cert, pool := srv.TLS.Certificates[0], srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	srv.Close()
	got := &seen{}
	ln, err := tlsListen(cert)
	if err != nil {
		t.Fatal(err)
	}
	recv := &syslogReceiver{ln: ln, got: got, first: make(chan string, 1)}
	go recv.serve()
	defer recv.stop()
	stop := tr.run(t, export.NewSyslog("siem-tls", ln.Addr().String(), tlsConfig(pool)))
	defer stop()
	tr.appendPaced(t, 40, 0)
	if dups := got.waitAll(t, 40); dups != 0 {
		t.Errorf("%d duplicates without an outage", dups)
	}
}

func TestWebhookDownAndBack(t *testing.T) {
	tr := newTrail(t)
	got := &seen{}
	var mu sync.Mutex
	failing := false
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := failing
		mu.Unlock()
		if f {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		var evs []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&evs); err != nil || r.Header.Get("Idempotency-Key") == "" {
			http.Error(w, "bad batch", http.StatusBadRequest)
			return
		}
		for _, e := range evs {
			got.add(int64(e["seq"].(float64)))
		}
	})
	srv := httptest.NewServer(handler)
	addr := srv.Listener.Addr().String()
	stop := tr.run(t, export.NewWebhook("hook", srv.URL, http.Header{"Authorization": {"Bearer t"}}, nil))
	const n = 300
	done := make(chan struct{})
	go func() { tr.appendPaced(t, n, 2*time.Millisecond); close(done) }()
	for got.count() < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Close() // down: connection refused
	time.Sleep(200 * time.Millisecond)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewUnstartedServer(handler)
	srv.Listener = ln
	mu.Lock()
	failing = true // back, but answering 503
	mu.Unlock()
	srv.Start()
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	failing = false
	mu.Unlock()
	<-done
	got.waitAll(t, n)

	// A gateway restart: the new runner resumes from the persisted
	// cursor and sends nothing twice.
	stop()
	before := got.count()
	tr.appendPaced(t, 20, 0)
	stop = tr.run(t, export.NewWebhook("hook", srv.URL, nil, nil))
	defer stop()
	got.waitAll(t, n+20)
	got.mu.Lock()
	for seq := int64(before + 1); seq <= int64(n+20); seq++ {
		if got.n[seq] != 1 {
			t.Errorf("seq %d delivered %d times across the restart", seq, got.n[seq])
		}
	}
	got.mu.Unlock()
	srv.Close()
}

func TestFileRotationAndReverify(t *testing.T) {
	tr := newTrail(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	sink := export.NewFile("file", path, 4096, 3)
	stop := tr.run(t, sink)
	tr.appendPaced(t, 200, 0)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, _ := tr.st.Cursor(context.Background(), "file"); c == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("file sink did not catch up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	files, _ := filepath.Glob(path + "*")
	if len(files) != 4 {
		t.Errorf("files = %v; want the live file and 3 rotated ones", files)
	}
	var last int64
	for _, f := range []string{path + ".3", path + ".2", path + ".1", path} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 4096 {
			t.Errorf("%s has %d bytes, over the 4096 limit", f, len(b))
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			e, err := export.ParseJSONLine([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			if recorder.HashEvent(e) != e.Hash {
				t.Fatalf("exported seq %d does not re-hash to its hash", e.Seq)
			}
			if last != 0 && e.Seq != last+1 {
				t.Fatalf("exported seq %d follows %d", e.Seq, last)
			}
			last = e.Seq
		}
	}
	if last != 200 {
		t.Errorf("last exported seq %d, want 200", last)
	}
}

func TestCEF(t *testing.T) {
	e, _ := recorder.NewEvent(recorder.TypeCallIntent, recorder.IntentData{Tool: "sql_query", Connection: "prod|db",
		Arguments: map[string]any{"sql": "SELECT 1 = 1"}, Decision: &recorder.DecisionData{Reasons: []string{"no"}, Policy: "p"}})
	e.Seq, e.Time, e.Subject, e.CallID, e.Hash = 7, time.Unix(1700000000, 0), "alice", "call_1", "abc"
	got := string(export.CEF(e))
	for _, want := range []string{"CEF:0|airlock|airlock|dev|call.intent|call intent|6|rt=1700000000000 suser=alice",
		"cn1Label=seq cn1=7", "cs2Label=call_id cs2=call_1", "cs5=sql_query", `cs6=prod|db`, "act=deny", `"sql":"SELECT 1 \= 1"`} {
		if !strings.Contains(got, want) {
			t.Errorf("CEF lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("CEF must be one line: %q", got)
	}
}

func tlsListen(cert tls.Certificate) (net.Listener, error) {
	return tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
}

func tlsConfig(pool *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: pool} }
