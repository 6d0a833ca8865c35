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
}

// NewStatementCounter returns a counter that logs nothing.
func NewStatementCounter() *StatementCounter {
	return &StatementCounter{Interface: logger.Discard}
}

// Trace counts one statement.
func (s *StatementCounter) Trace(context.Context, time.Time, func() (string, int64), error) {
	s.N.Add(1)
}

// LogMode keeps the counter whatever the level asked.
func (s *StatementCounter) LogMode(logger.LogLevel) logger.Interface { return s }
