package cases

import (
	"context"
	"time"

	"giftdesk/models"
)

// Queue is one of the console home page's queues of work (SPEC 4.5, issue 21).
type Queue string

// The queues, in the order the home page shows them.
const (
	QueueMine       Queue = "mine"       // open cases assigned to me
	QueueUnassigned Queue = "unassigned" // open cases nobody has taken
	QueueSLA        Queue = "sla"        // open cases due within SLARiskWindow, or past due
	QueueWaiting    Queue = "waiting"    // waiting on the customer
	QueueVerify     Queue = "verify"     // evidence someone else uploaded waits for my verdict
	QueueApproval   Queue = "approval"   // a correction waits for a supervisor
)

// Queues lists every queue.
var Queues = []Queue{QueueMine, QueueUnassigned, QueueSLA, QueueWaiting, QueueVerify, QueueApproval}

// SLARiskWindow is how close to a due time an open case counts as at risk.
const SLARiskWindow = 2 * time.Hour

// SLAState is how a case stands against its SLA, as the console shows it.
type SLAState string

// The SLA states. A case that is no longer open, or has no due time, has none ("").
const (
	SLABreached SLAState = "breached" // a target is past (SPEC 4.2's breached)
	SLAAtRisk   SLAState = "at_risk"  // a target falls within SLARiskWindow
	SLAOnTrack  SLAState = "on_track"
)

// openStatuses are R11's statuses of a case still being worked.
func openStatuses() []string {
	var out []string
	for _, s := range Statuses {
		if s.Open() {
			out = append(out, string(s))
		}
	}
	return out
}

// slaState places c against its targets at now: the same conditions as the SLA queue's filter
// (queueFilter), so a case in that queue always shows at risk or breached.
func slaState(c models.Case, now time.Time) SLAState {
	if !Status(c.Status).Open() {
		return ""
	}
	if slaView(c, now).Breached {
		return SLABreached
	}
	var due []*time.Time
	if c.FirstRespondedAt == nil {
		due = append(due, c.FirstResponseDue)
	}
	due = append(due, c.ResolutionDue)
	state := SLAState("")
	for _, t := range due {
		if t == nil {
			continue
		}
		if !t.After(now.Add(SLARiskWindow)) {
			return SLAAtRisk
		}
		state = SLAOnTrack
	}
	return state
}

// queueFilter adds queue q's conditions to f, for p at now; it reports false for no such queue.
// It is the one definition of each queue, for its list and its count alike.
func queueFilter(f *models.CaseFilter, p Principal, q Queue, now time.Time) bool {
	switch q {
	case QueueMine:
		id := p.UserID
		f.StatusIn, f.AssigneeID, f.Unassigned = openStatuses(), &id, false
	case QueueUnassigned:
		f.StatusIn, f.AssigneeID, f.Unassigned = openStatuses(), nil, true
	case QueueSLA:
		by := now.Add(SLARiskWindow).UTC()
		f.StatusIn, f.DueBy = openStatuses(), &by
	case QueueWaiting:
		f.Status = string(StatusWaitingOnCustomer)
	case QueueVerify:
		id := p.UserID
		f.StatusIn, f.ToVerifyBy = openStatuses(), &id
	case QueueApproval:
		f.Status = string(StatusPendingApproval)
	default:
		return false
	}
	return true
}

// QueueCountLimit is the largest queue size the home page counts exactly; a longer queue shows as
// "1,000+". Nobody works a queue by its thousandth case, and counting every case of an 80,000-case
// queue costs a visit to each (issue 25).
const QueueCountLimit = 1000

// QueueCount is how many cases one queue holds: Count exactly, or at least Count when More.
type QueueCount struct {
	Queue Queue
	Count int64
	More  bool // the queue holds more than Count (QueueCountLimit) cases
}

// QueueCounts counts every queue for p in one statement, each count served by its own index and
// stopping past QueueCountLimit, so that the home page costs the same at 100 cases or 1,000,000.
func (d *Desk) QueueCounts(ctx context.Context, p Principal) ([]QueueCount, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return nil, err
	}
	now := d.now()
	filters := make([]models.CaseFilter, len(Queues))
	for i, q := range Queues {
		queueFilter(&filters[i], p, q, now)
	}
	counts, err := models.CountCases(ctx, d.db, filters, QueueCountLimit+1)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]QueueCount, len(Queues))
	for i, q := range Queues {
		out[i] = QueueCount{Queue: q, Count: min(counts[i], QueueCountLimit), More: counts[i] > QueueCountLimit}
	}
	return out, nil
}
