// Package slog is bench/versus-seed's stand-in for Go 1.21's log/slog (Debian's Go is 1.19),
// covering only what the seed uses: Level (LevelDebug/Info/Warn/Error), New, NewTextHandler,
// HandlerOptions{Level}, Logger.With/Debug/Info/Warn/Error. Its output imitates slog's
// TextHandler (time=... level=... msg=... key=value ..., one Write per record), and, like
// slog, a record below the handler's level is dropped before anything is formatted.
package slog

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode"
)

type Level int

const (
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
)

func (l Level) String() string {
	switch {
	case l < LevelInfo:
		return "DEBUG"
	case l < LevelWarn:
		return "INFO"
	case l < LevelError:
		return "WARN"
	default:
		return "ERROR"
	}
}

type HandlerOptions struct {
	Level Level
}

type TextHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level Level
}

func NewTextHandler(w io.Writer, opts *HandlerOptions) *TextHandler {
	h := &TextHandler{mu: &sync.Mutex{}, w: w}
	if opts != nil {
		h.level = opts.Level
	}
	return h
}

type Logger struct {
	h     *TextHandler
	attrs []byte // preformatted " key=value" pairs from With
}

func New(h *TextHandler) *Logger { return &Logger{h: h} }

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == ' ' || r == '=' || r == '"' || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

func appendValue(b []byte, v any) []byte {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case error:
		s = x.Error()
	case time.Duration:
		s = x.String()
	case time.Time:
		s = x.Format(time.RFC3339Nano)
	case fmt.Stringer:
		s = x.String()
	default:
		s = fmt.Sprintf("%+v", x)
	}
	if needsQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func appendPairs(b []byte, args []any) []byte {
	for i := 0; i < len(args); i += 2 {
		key := fmt.Sprint(args[i])
		var val any = "!BADKEY"
		if i+1 < len(args) {
			val = args[i+1]
		}
		b = append(b, ' ')
		b = append(b, key...)
		b = append(b, '=')
		b = appendValue(b, val)
	}
	return b
}

func (l *Logger) With(args ...any) *Logger {
	a := make([]byte, len(l.attrs), len(l.attrs)+64)
	copy(a, l.attrs)
	return &Logger{h: l.h, attrs: appendPairs(a, args)}
}

func (l *Logger) log(level Level, msg string, args []any) {
	if level < l.h.level {
		return
	}
	b := make([]byte, 0, 256)
	b = append(b, "time="...)
	b = time.Now().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, " level="...)
	b = append(b, level.String()...)
	b = append(b, " msg="...)
	b = appendValue(b, msg)
	b = append(b, l.attrs...)
	b = appendPairs(b, args)
	b = append(b, '\n')
	l.h.mu.Lock()
	l.h.w.Write(b) //nolint:errcheck
	l.h.mu.Unlock()
}

func (l *Logger) Debug(msg string, args ...any) { l.log(LevelDebug, msg, args) }
func (l *Logger) Info(msg string, args ...any)  { l.log(LevelInfo, msg, args) }
func (l *Logger) Warn(msg string, args ...any)  { l.log(LevelWarn, msg, args) }
func (l *Logger) Error(msg string, args ...any) { l.log(LevelError, msg, args) }
