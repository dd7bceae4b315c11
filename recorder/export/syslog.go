package export

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/airlockhq/airlock/recorder"
)

// facilityLogAudit is RFC 5424's facility 13, "log audit".
const facilityLogAudit = 13

// sdID names our structured data element. 32473 is the private
// enterprise number RFC 5612 reserves for documentation; operators who
// own a number can change it in their SIEM's parser, not here.
const sdID = "airlock@32473"

// Syslog sends RFC 5424 messages over TCP or TLS with octet-counting
// framing (RFC 6587). Syslog over TCP has no acknowledgements: a write
// that succeeded may still die in the receiver's buffers when it stops.
// So after every reconnection the sink sends again what it wrote in the
// last ResendWindow; receivers deduplicate by the seq parameter.
type Syslog struct {
	name, addr string
	tls        *tls.Config // nil: plain TCP
	hostname   string
	// ResendWindow is how far back a reconnection resends (10s).
	ResendWindow time.Duration
	// Timeout bounds dialling and each write (10s).
	Timeout time.Duration

	conn   net.Conn
	dialed bool // a connection existed before: the next dial is a reconnection
	recent []sentFrame
}

type sentFrame struct {
	at    time.Time
	frame []byte
}

// NewSyslog returns a syslog sink for addr ("host:port"). tlsConfig nil
// means plain TCP.
func NewSyslog(name, addr string, tlsConfig *tls.Config) *Syslog {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "-"
	}
	return &Syslog{name: name, addr: addr, tls: tlsConfig, hostname: host,
		ResendWindow: 10 * time.Second, Timeout: 10 * time.Second}
}

// Name implements Sink.
func (s *Syslog) Name() string { return s.name }

// Deliver implements Sink.
func (s *Syslog) Deliver(ctx context.Context, events []recorder.Event) error {
	if s.conn != nil && !alive(s.conn) {
		s.drop()
	}
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	now := time.Now()
	var frames []sentFrame
	for _, e := range events {
		f := Frame(RFC5424(e, s.hostname))
		buf.Write(f)
		frames = append(frames, sentFrame{at: now, frame: f})
	}
	if err := s.write(buf.Bytes()); err != nil {
		return err
	}
	s.recent = append(s.recent, frames...)
	s.prune(now)
	return nil
}

func (s *Syslog) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: s.Timeout}
	var conn net.Conn
	var err error
	if s.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("export: %s: dial %s: %w", s.name, s.addr, err)
	}
	s.conn = conn
	if s.dialed && len(s.recent) > 0 {
		s.prune(time.Now())
		var buf bytes.Buffer
		for _, f := range s.recent {
			buf.Write(f.frame)
		}
		if err := s.write(buf.Bytes()); err != nil {
			return err
		}
	}
	s.dialed = true
	return nil
}

func (s *Syslog) write(b []byte) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.Timeout))
	if _, err := s.conn.Write(b); err != nil {
		s.drop()
		return fmt.Errorf("export: %s: write: %w", s.name, err)
	}
	return nil
}

func (s *Syslog) prune(now time.Time) {
	i := 0
	for i < len(s.recent) && now.Sub(s.recent[i].at) > s.ResendWindow {
		i++
	}
	s.recent = s.recent[i:]
}

func (s *Syslog) drop() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// alive reports whether the peer has not closed the connection: a read
// that would block means it is open; EOF or a reset means it is gone, and
// writing now would vanish into a dead socket.
func alive(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	_, err := c.Read(b[:])
	_ = c.SetReadDeadline(time.Time{})
	var ne net.Error
	return err == nil || (errors.As(err, &ne) && ne.Timeout())
}

// Close implements Sink.
func (s *Syslog) Close() error {
	s.drop()
	return nil
}

// Frame applies octet-counting framing: "LEN SP MSG".
func Frame(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+8)
	out = strconv.AppendInt(out, int64(len(msg)), 10)
	out = append(out, ' ')
	return append(out, msg...)
}

var sdEscape = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`)

// RFC5424 formats e as a syslog message: MSGID is the event type, the
// structured data carries the chain fields, and MSG is the JSON line
// (with a BOM, as RFC 5424 asks for UTF-8 text).
func RFC5424(e recorder.Event, hostname string) []byte {
	sev, _ := severity(e)
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s airlock - %s [%s", facilityLogAudit*8+sev, e.Time.UTC().Format(recorder.TimeFormat),
		orNil(hostname), orNil(e.Type), sdID)
	for _, p := range []struct{ k, v string }{
		{"seq", strconv.FormatInt(e.Seq, 10)}, {"call_id", e.CallID}, {"session_id", e.SessionID},
		{"subject", e.Subject}, {"verified", strconv.FormatBool(e.Verified)}, {"hash", e.Hash},
	} {
		if p.v != "" {
			fmt.Fprintf(&b, ` %s="%s"`, p.k, sdEscape.Replace(p.v))
		}
	}
	b.WriteString("] \xef\xbb\xbf")
	b.Write(bytes.TrimSuffix(JSONLine(e), []byte("\n")))
	return b.Bytes()
}

func orNil(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
