package modelstest

import (
	"context"
	"sync/atomic"
	"time"

	"gorm.io/gorm/logger"
)

// StatementCounter is a gorm logger that counts the statements a session sends: give it to
// db.Session(&gorm.Session{Logger: counter}) and read N before and after the work measured.
type StatementCounter struct {
	logger.Interface
	N atomic.Int64
	// KeepSQL keeps the last statement, its values in place, for Last (EXPLAIN in plan tests).
	KeepSQL bool
	last    atomic.Pointer[string]
}

// NewStatementCounter returns a counter that logs nothing.
func NewStatementCounter() *StatementCounter {
	return &StatementCounter{Interface: logger.Discard}
}

// Trace counts one statement.
func (s *StatementCounter) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s.N.Add(1)
	if s.KeepSQL {
		sql, _ := fc()
		s.last.Store(&sql)
	}
}

// Last is the last statement sent, with its values in place ("" unless KeepSQL).
func (s *StatementCounter) Last() string {
	if p := s.last.Load(); p != nil {
		return *p
	}
	return ""
}

// LogMode keeps the counter whatever the level asked.
func (s *StatementCounter) LogMode(logger.LogLevel) logger.Interface { return s }
