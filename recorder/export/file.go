package export

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/airlockhq/airlock/recorder"
)

// File writes JSON lines to a file, rotated by size: path, path.1 (the
// newest full file), ... path.Keep. Each batch is fsynced before the
// cursor moves, so a crash never loses a line the store thinks delivered.
type File struct {
	name, path string
	maxBytes   int64
	keep       int
	f          *os.File
	size       int64
}

// NewFile returns a file sink. maxBytes <= 0 means 100 MiB; keep <= 0
// means 10 rotated files.
func NewFile(name, path string, maxBytes int64, keep int) *File {
	if maxBytes <= 0 {
		maxBytes = 100 << 20
	}
	if keep <= 0 {
		keep = 10
	}
	return &File{name: name, path: path, maxBytes: maxBytes, keep: keep}
}

// Name implements Sink.
func (s *File) Name() string { return s.name }

// Deliver implements Sink.
func (s *File) Deliver(_ context.Context, events []recorder.Event) error {
	var buf bytes.Buffer
	for _, e := range events {
		line := JSONLine(e)
		if s.size+int64(buf.Len()+len(line)) > s.maxBytes && s.size+int64(buf.Len()) > 0 {
			if err := s.write(buf.Bytes()); err != nil {
				return err
			}
			buf.Reset()
			if err := s.rotate(); err != nil {
				return err
			}
		}
		buf.Write(line)
	}
	return s.write(buf.Bytes())
}

func (s *File) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if err := s.open(); err != nil {
		return err
	}
	n, err := s.f.Write(b)
	s.size += int64(n)
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		s.f.Close()
		s.f = nil
		return fmt.Errorf("export: %s: write: %w", s.name, err)
	}
	return nil
}

func (s *File) open() error {
	if s.f != nil {
		return nil
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("export: %s: open: %w", s.name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("export: %s: open: %w", s.name, err)
	}
	s.f, s.size = f, fi.Size()
	return nil
}

// rotate shifts path.N-1 to path.N, ..., path to path.1; the oldest beyond
// keep is removed.
func (s *File) rotate() error {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	_ = os.Remove(fmt.Sprintf("%s.%d", s.path, s.keep))
	for i := s.keep - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", s.path, i), fmt.Sprintf("%s.%d", s.path, i+1))
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("export: %s: rotate: %w", s.name, err)
	}
	s.size = 0
	return nil
}

// Close implements Sink.
func (s *File) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
