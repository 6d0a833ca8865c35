// Package demo loads a desk already at work for `giftdesk serve --demo`: demo users and about
// fifteen cases of every type and status, with communications, receipts drawn at run time,
// evidence verified by a second person and corrections pending, applied, denied and reversed.
//
// Everything is written through the cases use cases, as the console and the API write it, so
// every rule holds and every change has its audit event and outbox row. The one write outside
// them, dating a case back to when its customer first called, is a unit of work (cases.Work)
// with its own audit event.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
)

// Users are the people of the demo: two agents (evidence is verified by someone other than its
// uploader) and two supervisors (a correction at the dual-approval threshold needs two).
var Users = []cases.NewUser{
	{Email: "agent@demo.giftdesk", Name: "Alex Agent", Role: cases.RoleAgent},
	{Email: "agent2@demo.giftdesk", Name: "Robin Agent", Role: cases.RoleAgent},
	{Email: "supervisor@demo.giftdesk", Name: "Sam Supervisor", Role: cases.RoleSupervisor},
	{Email: "supervisor2@demo.giftdesk", Name: "Sky Supervisor", Role: cases.RoleSupervisor},
}

// Created is a demo user AddUsers created, with the password to show once.
type Created struct {
	cases.UserView
	Password string
}

// AddUsers creates the demo users the desk does not have yet, each with a random password, and
// returns them; a user loaded on an earlier start is left as it is.
func AddUsers(ctx context.Context, desk *cases.Desk) ([]Created, error) {
	var out []Created
	for _, u := range Users {
		u.Password = "demo-" + strings.ToLower(rand.Text()[:18])
		view, err := desk.AddUser(ctx, cases.Actor{Kind: "system"}, u)
		if errors.Is(err, cases.ErrEmailTaken) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("demo user %s: %w", u.Email, err)
		}
		out = append(out, Created{UserView: view, Password: u.Password})
	}
	return out, nil
}

// Load adds the demo cases when the desk holds no case at all and returns how many it added: 0
// on a desk that already has cases, so that a second start adds nothing. The demo users must
// exist (AddUsers). spoolDir is where the drawn receipts are spooled on their way in, as uploads
// are.
func Load(ctx context.Context, desk *cases.Desk, spoolDir string) (int, error) {
	empty, err := desk.HasNoCases(ctx)
	if err != nil || !empty {
		return 0, err
	}
	l := &loader{ctx: ctx, desk: desk, spoolDir: spoolDir, now: time.Now().UTC()}
	for i, p := range []*cases.Principal{&l.agent, &l.agent2, &l.sup, &l.sup2} {
		if *p, err = desk.PrincipalByEmail(ctx, Users[i].Email); err != nil {
			return 0, fmt.Errorf("demo user %s: %w (add the demo users first)", Users[i].Email, err)
		}
	}
	for _, s := range story {
		s(l)
		if l.err != nil {
			return l.loaded, l.err
		}
	}
	return l.loaded, nil
}

// loader plays the story against the desk. Its first error sticks: later steps do nothing, so
// that the story reads as the sequence of what people did, without a check after each line.
type loader struct {
	ctx                      context.Context
	desk                     *cases.Desk
	spoolDir                 string
	now                      time.Time
	agent, agent2, sup, sup2 cases.Principal
	loaded                   int
	err                      error
}

// kase is a case of the story being played.
type kase struct {
	l   *loader
	ref string
}

func (l *loader) fail(step string, err error) {
	if err != nil && l.err == nil {
		l.err = fmt.Errorf("%s: %w", step, err)
	}
}

// actor is who the audit trail names: the demo user, marked as made by the system.
func actor(p cases.Principal) cases.Actor {
	return cases.Actor{Principal: &p, Kind: "system", UserAgent: "giftdesk serve --demo"}
}

// ago is the time d before the load, as the API takes it.
func (l *loader) ago(d time.Duration) string { return l.now.Add(-d).Format(time.RFC3339) }

// day is the date d before the load.
func (l *loader) day(d time.Duration) time.Time { return l.now.Add(-d) }

// open creates a case as p and dates it back to when its customer first got in touch, opened
// before the load, so that its age and SLA are those of a desk at work.
func (l *loader) open(p cases.Principal, opened time.Duration, in cases.NewCase) *kase {
	k := &kase{l: l}
	if l.err != nil {
		return k
	}
	view, _, err := l.desk.CreateCase(l.ctx, p, actor(p), in)
	l.fail("demo case "+in.Type, err)
	if err != nil {
		return k
	}
	k.ref = view.Ref
	l.loaded++
	l.fail(k.ref+": date back", l.backdate(k.ref, l.now.Add(-opened)))
	return k
}

// backdate moves a new case's opening, and its SLA due times with it, to opened: one unit of
// work with its audit event, which says what was moved and why.
func (l *loader) backdate(ref string, opened time.Time) error {
	return l.desk.Do(l.ctx, cases.Actor{Kind: "system", UserAgent: "giftdesk serve --demo"}, func(w *cases.Work) error {
		c, err := models.CaseByRefForUpdate(w.Context(), w.Tx, ref)
		if err != nil {
			return err
		}
		if c.FirstResponseDue == nil || c.ResolutionDue == nil {
			return fmt.Errorf("%s has no SLA due times to move", ref)
		}
		shift := c.CreatedAt.Sub(opened)
		frd, rd := c.FirstResponseDue.Add(-shift), c.ResolutionDue.Add(-shift)
		ok, err := models.UpdateCaseVersioned(w.Context(), w.Tx, c.ID, c.Version, map[string]any{
			"created_at": opened, "first_response_due": frd, "resolution_due": rd, "updated_at": w.Now})
		if err != nil || !ok {
			return errors.Join(err, errors.New("the case changed while it was dated back"))
		}
		type times struct {
			CreatedAt        time.Time `json:"created_at"`
			FirstResponseDue time.Time `json:"first_response_due"`
			ResolutionDue    time.Time `json:"resolution_due"`
			Why              string    `json:"why,omitempty"`
		}
		return w.Audit("case.backdated", "case", ref, times{c.CreatedAt, *c.FirstResponseDue, *c.ResolutionDue, ""},
			times{opened, frd, rd, "demo data: the case is dated from its customer's first contact"})
	})
}

// say records a communication as p and returns its id.
func (k *kase) say(p cases.Principal, in cases.NewCommunication) string {
	if k.l.err != nil {
		return ""
	}
	v, err := k.l.desk.AddCommunication(k.l.ctx, p, actor(p), k.ref, in)
	k.l.fail(k.ref+": communication", err)
	return fmt.Sprint(v.ID)
}

// move patches the case as p, from the version it has now (as a console form would).
func (k *kase) move(p cases.Principal, patch cases.CasePatch) {
	if k.l.err != nil {
		return
	}
	v, err := k.l.desk.GetCase(k.l.ctx, p, k.ref)
	if err == nil {
		_, err = k.l.desk.UpdateCase(k.l.ctx, p, actor(p), k.ref, v.ETag(), patch)
	}
	k.l.fail(k.ref+": update", err)
}

// to moves the case to a status (and resolution).
func (k *kase) to(p cases.Principal, status cases.Status, resolution cases.Resolution) {
	k.move(p, cases.CasePatch{Status: string(status), Resolution: string(resolution)})
}

// assign gives the case to p.
func (k *kase) assign(by, to cases.Principal) {
	k.move(by, cases.CasePatch{Assignee: cases.Nullable{Set: true, Value: to.Email}})
}

// card is the id of the case's card whose claim code or serial ends with last4.
func (k *kase) card(last4 string) string {
	if k.l.err != nil {
		return ""
	}
	v, err := k.l.desk.GetCase(k.l.ctx, k.l.sup, k.ref)
	if err != nil {
		k.l.fail(k.ref+": read", err)
		return ""
	}
	for _, c := range v.Cards {
		if (c.Last4 != nil && *c.Last4 == last4) || (c.Serial != nil && strings.HasSuffix(*c.Serial, last4)) {
			return fmt.Sprint(c.ID)
		}
	}
	k.l.fail(k.ref+": card", errors.New("no card ends with "+last4))
	return ""
}

// upload adds a drawn file as evidence, uploaded by p, and returns its id.
func (k *kase) upload(p cases.Principal, file []byte, in cases.EvidenceFields) int64 {
	if k.l.err != nil {
		return 0
	}
	spooled, err := cases.SpoolUpload(bytes.NewReader(file), k.l.spoolDir)
	if err != nil {
		k.l.fail(k.ref+": spool evidence", err)
		return 0
	}
	defer spooled.Close()
	v, err := k.l.desk.AddEvidence(k.l.ctx, p, actor(p), k.ref, in, spooled)
	k.l.fail(k.ref+": evidence", err)
	return v.ID
}

// receipt draws r and uploads it as p with its receipt fields.
func (k *kase) receipt(p cases.Principal, r Receipt, note string) int64 {
	png, err := r.PNG()
	if err != nil {
		k.l.fail(k.ref+": draw receipt", err)
		return 0
	}
	return k.upload(p, png, cases.EvidenceFields{Kind: "receipt", FileName: "receipt-" + r.Transaction + ".png",
		StoreName: r.Store, StoreLocation: r.Location, PurchasedAt: r.PurchasedAt.Format(time.DateOnly),
		AmountMinor: strings.ReplaceAll(r.Amount, ".", ""), Currency: r.Currency, CardLast4: r.CardLast4,
		PosTransactionID: r.Transaction, Note: note})
}

// screenshot draws lines as a screen capture and uploads it as p.
func (k *kase) screenshot(p cases.Principal, name, note string, lines ...string) int64 {
	png, err := Screenshot(lines...)
	if err != nil {
		k.l.fail(k.ref+": draw screenshot", err)
		return 0
	}
	return k.upload(p, png, cases.EvidenceFields{Kind: "screenshot", FileName: name, Note: note})
}

// verify records p's verdict on evidence someone else uploaded.
func (k *kase) verify(p cases.Principal, id int64, verdict, note string) {
	if k.l.err != nil {
		return
	}
	_, err := k.l.desk.VerifyEvidence(k.l.ctx, p, actor(p), id, verdict, note)
	k.l.fail(k.ref+": verify evidence", err)
}

// request asks for a correction as p and returns its id.
func (k *kase) request(p cases.Principal, in cases.NewCorrection) int64 {
	if k.l.err != nil {
		return 0
	}
	v, err := k.l.desk.RequestCorrection(k.l.ctx, p, actor(p), k.ref, in)
	k.l.fail(k.ref+": request "+in.Kind, err)
	return v.ID
}

// approve records a supervisor's approval.
func (k *kase) approve(p cases.Principal, id int64, note string) {
	if k.l.err != nil {
		return
	}
	_, err := k.l.desk.ApproveCorrection(k.l.ctx, p, actor(p), id, note)
	k.l.fail(k.ref+": approve", err)
}

// deny refuses a correction with its reason.
func (k *kase) deny(p cases.Principal, id int64, reason string) {
	if k.l.err != nil {
		return
	}
	_, err := k.l.desk.DenyCorrection(k.l.ctx, p, actor(p), id, reason)
	k.l.fail(k.ref+": deny", err)
}

// cancel withdraws p's own pending request.
func (k *kase) cancel(p cases.Principal, id int64) {
	if k.l.err != nil {
		return
	}
	_, err := k.l.desk.CancelCorrection(k.l.ctx, p, actor(p), id)
	k.l.fail(k.ref+": cancel", err)
}

// updateCard corrects or freezes a card as p.
func (k *kase) updateCard(p cases.Principal, cardID string, patch cases.CardPatch) {
	if k.l.err != nil {
		return
	}
	var id int64
	if _, err := fmt.Sscan(cardID, &id); err != nil {
		k.l.fail(k.ref+": card id", err)
		return
	}
	_, err := k.l.desk.UpdateCard(k.l.ctx, p, actor(p), id, patch)
	k.l.fail(k.ref+": update card", err)
}

func money(v int64) *int64 { return &v }

func seconds(v int64) *int64 { return &v }
