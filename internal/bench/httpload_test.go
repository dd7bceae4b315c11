package bench

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// wireCall is one tools/call as mcp-go's client put it on the wire, and
// what the response must hold.
type wireCall struct {
	header http.Header
	body   []byte
	want   []byte
}

// recordingTransport keeps the tools/call requests that pass through it.
type recordingTransport struct {
	mu    sync.Mutex
	calls []wireCall
}

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if bytes.Contains(body, []byte(`"method":"tools/call"`)) {
		t.mu.Lock()
		t.calls = append(t.calls, wireCall{header: r.Header.Clone(), body: body})
		t.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// recordCalls makes n calls of tool with mcp-go's client on the stateless
// revision and returns them as sent. Call i must answer the row whose id
// is its first parameter.
func recordCalls(b *testing.B, url, tool string, args func(int64) map[string]any, n int) []wireCall {
	b.Helper()
	rt := &recordingTransport{}
	c := connect(b, url, mcp.ProtocolVersion20260728, transport.WithHTTPBasicClient(&http.Client{Transport: rt}))
	for i := range int64(n) {
		callTool(b, c, tool, args(i))
	}
	if len(rt.calls) != n {
		b.Fatalf("recorded %d tools/call requests, want %d", len(rt.calls), n)
	}
	for i := range rt.calls {
		id := args(int64(i))["params"].([]any)[0].(int64)
		rt.calls[i].want = []byte(`"rows":[[` + strconv.FormatInt(id, 10) + `,`)
	}
	return rt.calls
}

// driveHTTP makes b.N calls from 8 keep-alive HTTP clients at once, each
// replaying recorded requests, and reports calls/s. Every response must be
// a success holding the row its request asked for.
func driveHTTP(b *testing.B, url string, calls []wireCall) {
	callers := make([]func(i int64) bool, clients)
	for n := range callers {
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
		b.Cleanup(hc.CloseIdleConnections)
		var buf bytes.Buffer
		callers[n] = func(i int64) bool {
			wc := calls[i%int64(len(calls))]
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(wc.body))
			if err != nil {
				b.Error(err)
				return false
			}
			req.Header = wc.header
			res, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return false
			}
			buf.Reset()
			_, err = buf.ReadFrom(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK || !bytes.Contains(buf.Bytes(), wc.want) ||
				bytes.Contains(buf.Bytes(), []byte(`"isError":true`)) {
				b.Errorf("call %d: status %d, %v: %.300s", i, res.StatusCode, err, buf.Bytes())
				return false
			}
			return true
		}
	}
	fanOut(b, callers)
}
