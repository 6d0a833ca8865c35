package cases

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// ReadDB is the desk's database for the read-only sub-packages (cases/reports): they query it and
// change nothing through it, since every change goes through Do and is audited there.
func (d *Desk) ReadDB(ctx context.Context) *gorm.DB { return d.db.WithContext(ctx) }

// Now is the desk's clock.
func (d *Desk) Now() time.Time { return d.now() }
