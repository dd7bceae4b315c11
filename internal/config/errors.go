package config

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// Error is a configuration error that names where it is, so an operator can
// go straight to the line: "airlock.yaml:12: connections[1].dsn: ...".
// Load and Parse report only the first error: one clear message is more
// useful than a cascade of consequences.
type Error struct {
	// File is the configuration file ("" when not known).
	File string
	// Line is 1-based; 0 when the problem has no line (a default value, an
	// environment override, or a YAML error the parser could not place).
	Line int
	// Key is the dotted path, e.g. "connections[1].dsn" or
	// "limits.statement_timeout"; "" for syntax errors.
	Key string
	// Msg says what is wrong and, where it helps, how to fix it.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "":
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line))
	default:
		b.WriteString("config")
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// yamlLine matches the position yaml.v3 puts in its syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into an *Error for file.
func syntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// asError returns err as an *Error placed at file/line/key when it is not
// one already; fields the error already has win, since they are more exact.
func asError(err error, file string, line int, key string) *Error {
	var ce *Error
	if !errors.As(err, &ce) {
		return &Error{File: file, Line: line, Key: key, Msg: err.Error()}
	}
	out := *ce
	if out.File == "" {
		out.File = file
	}
	if out.Line == 0 {
		out.Line = line
	}
	if out.Key == "" {
		out.Key = key
	}
	return &out
}
