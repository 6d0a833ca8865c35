package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/webhooks"
	"giftdesk/models/modelstest"
)

// crashRoundsDefault keeps TestCrashRounds near two minutes under -race on the CI machine;
// GIFTDESK_CRASH_ROUNDS runs it longer by hand.
const crashRoundsDefault = 6

// TestCrashRounds is issue 26's crash rounds: `giftdesk serve` on PostgreSQL under concurrent API
// load (case creations, communications, evidence uploads and verdicts, correction requests, single
// and dual approvals, denials, cancellations and reversals, every POST under an Idempotency-Key)
// with a webhook endpoint delivering to a local receiver, killed with SIGKILL at a random moment
// each round and restarted. After each round: every request whose answer the kill swallowed is
// sent again under its key and is replayed or run, never stuck at 409 idempotency_in_progress; a
// sample of answered requests replays byte for byte; casestest.Violations finds no broken money or
// record-keeping rule; the API's balances and corrections agree with the rows; no webhook event id
// arrived with two different bodies and every delivery the desk marked delivered arrived;
// `giftdesk audit verify` passes; and no file under the data folder (the server's log included)
// nor any row holds a claim code the test sent. At the end every webhook event arrives.
func TestCrashRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server: skipped with -short")
	}
	rounds := crashRoundsDefault
	if s := os.Getenv("GIFTDESK_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("GIFTDESK_CRASH_ROUNDS=%q: want a number of rounds", s)
		}
		rounds = n
	}
	started := time.Now()
	dir, bin, dbURL, db := binaryOnPostgres(t)
	ctx := context.Background()
	h := newCrashHarness(t, db)
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The server's log lives in the data folder, so the claim-code scan covers it too (R1).
	logFile, err := os.OpenFile(filepath.Join(dataDir, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	env := append(serverEnv(dbURL, dataDir), "GIFTDESK_WEBHOOK_ALLOW_PRIVATE=1")
	server, addr := startServerLogged(t, bin, env, logFile)
	h.setAddr(addr)
	defer func() { _ = server.Process.Signal(syscall.SIGTERM); _ = server.Wait() }()
	h.subscribe()

	for round := 1; round <= rounds; round++ {
		h.round = round
		loadFor := time.Duration(300+mathrand.IntN(2200)) * time.Millisecond
		roundCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.work(roundCtx)
			}()
		}
		time.Sleep(loadFor)
		if err := server.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if err := server.Wait(); err == nil {
			t.Fatal("the killed server exited as if it had stopped cleanly")
		}
		h.kills++
		stop()
		wg.Wait()
		server, addr = startServerLogged(t, bin, env, logFile)
		h.setAddr(addr)
		h.retryUnanswered()
		h.replaySample()
		h.checkRound(bin, env, dataDir)
		if t.Failed() {
			t.Fatalf("round %d broke an invariant (see above)", round)
		}
		t.Logf("round %d: killed after %s of load; %d requests so far", round, loadFor.Round(time.Millisecond), h.sent.Load())
	}
	drained := h.drainWebhooks()
	h.report(rounds, time.Since(started), drained)
}

// crashHarness is the load, the ledger of what it sent, and the checks.
type crashHarness struct {
	t     *testing.T
	db    *gorm.DB
	round int
	kills int

	mu     sync.Mutex
	addr   string
	tokens map[string]string // agent, sup1, sup2, admin
	client *http.Client
	cases  []crashCase
	codes  []string // every claim code sent, committed or not
	// unanswered are idempotent requests whose answer a kill swallowed; answered, a sample of
	// those answered 2xx, with their answer, to replay.
	unanswered []crashRequest
	answered   []crashRequest
	evidence   []string // unverified receipts' ids
	outcomes   map[string]int
	retried    map[string]int
	unexpected int
	seq        atomic.Int64
	sent       atomic.Int64

	receiver *crashReceiver
	endpoint string
}

type crashCase struct {
	ref, typ, customer, intended, cardID, code string
	face                                       int64
}

type crashRequest struct {
	op, method, path, key, token, contentType string
	body                                      []byte
	status                                    int
	answer                                    []byte
}

func newCrashHarness(t *testing.T, db *gorm.DB) *crashHarness {
	ctx := context.Background()
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	h := &crashHarness{t: t, db: db, tokens: map[string]string{}, outcomes: map[string]int{}, retried: map[string]int{},
		client: &http.Client{Timeout: 30 * time.Second}}
	for _, u := range []struct {
		name   string
		role   cases.Role
		scopes []cases.Scope
	}{
		{"agent", cases.RoleAgent, []cases.Scope{cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite}},
		{"sup1", cases.RoleSupervisor, []cases.Scope{cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsDecide}},
		{"sup2", cases.RoleSupervisor, []cases.Scope{cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsDecide}},
		{"admin", cases.RoleAdmin, []cases.Scope{cases.ScopeCasesRead, cases.ScopeAdmin}},
	} {
		email := u.name + "@example.com"
		if _, err := desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: email, Name: u.name, Role: u.role, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		token, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: email, Name: "crash", Scopes: u.scopes})
		if err != nil {
			t.Fatal(err)
		}
		h.tokens[u.name] = token
	}
	if _, err := desk.SealPass(ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *crashHarness) setAddr(addr string) {
	h.mu.Lock()
	h.addr = addr
	h.mu.Unlock()
}

// do sends one request and returns its status, body and headers, or a transport error.
func (h *crashHarness) do(ctx context.Context, r crashRequest) (int, []byte, http.Header, error) {
	h.mu.Lock()
	addr := h.addr
	h.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, r.method, "http://"+addr+r.path, bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.tokens[r.token])
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.key != "" {
		req.Header.Set("Idempotency-Key", r.key)
	}
	h.sent.Add(1)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, b, resp.Header, nil
}

// scrub is scrubCodes with every code the test sent.
func (h *crashHarness) scrub(b []byte) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return scrubCodes(b, h.codes)
}

// scrubCodes masks codes in b before a failure message shows it: test output never holds a claim
// code, not even when a broken desk answers one.
func scrubCodes(b []byte, codes []string) string {
	s := string(b)
	for _, code := range codes {
		for _, form := range casestest.ClaimCodeForms(code) {
			s = strings.ReplaceAll(s, form, "[claim code]")
		}
	}
	return s
}

func problemCode(body []byte) string {
	var p struct{ Code string }
	_ = json.Unmarshal(body, &p)
	return p.Code
}

// expectedRefusals are the answers the load provokes on purpose: rules refusing a request that
// lost a race or asked for too much.
var expectedRefusals = map[string]bool{
	"422 exceeds_face_value": true, "422 already_decided": true, "422 already_reversed": true,
	"422 evidence_required": true, "409 already_approved": true, "429 rate_limited": true,
}

// send sends an idempotent request during a round and records what came of it: a transport error
// (the kill) leaves it unanswered, to be sent again after the restart.
func (h *crashHarness) send(ctx context.Context, r crashRequest) (int, []byte) {
	r.key = fmt.Sprintf("crash-%d-%s-%d", h.round, r.op, h.seq.Add(1))
	status, body, _, err := h.do(ctx, r)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.outcomes["no answer (killed or cut off)"]++
		h.unanswered = append(h.unanswered, r)
		return 0, nil
	}
	kind := strconv.Itoa(status)
	if status >= 300 {
		kind += " " + problemCode(body)
	}
	h.outcomes[r.op+" "+kind]++
	switch {
	case status < 300:
		r.status, r.answer = status, body
		if len(h.answered) < 2000 {
			h.answered = append(h.answered, r)
		}
	case !expectedRefusals[kind]:
		h.unexpected++
		if h.unexpected <= 10 {
			h.t.Errorf("%s %s answered %s: %s", r.method, r.path, kind, scrubCodes(body, h.codes))
		}
	}
	return status, body
}

func (h *crashHarness) get(ctx context.Context, token, path string, into any) bool {
	status, body, _, err := h.do(ctx, crashRequest{method: http.MethodGet, path: path, token: token})
	if err != nil {
		return false
	}
	if status != http.StatusOK {
		h.t.Errorf("GET %s answered %d: %s", path, status, h.scrub(body))
		return false
	}
	if err := json.Unmarshal(body, into); err != nil {
		h.t.Errorf("GET %s: %v", path, err)
		return false
	}
	return true
}

// codeAlphabet leaves out the easily confused characters, so that codes carry no hints.
const codeAlphabet = "ACDEFGHJKLMNPQRTUVWXYZ2346789"

func newClaimCode() string {
	b := make([]byte, 14)
	for i := range b {
		b[i] = codeAlphabet[mathrand.IntN(len(codeAlphabet))]
	}
	s := "CR" + string(b)
	return s[:5] + "-" + s[5:10] + "-" + s[10:]
}

// work runs one client's share of the load until ctx ends.
func (h *crashHarness) work(ctx context.Context) {
	for ctx.Err() == nil {
		switch n := mathrand.IntN(100); {
		case n < 18 || len(h.snapshotCases()) < 4:
			h.createCase(ctx)
		case n < 30:
			h.addCommunication(ctx)
		case n < 40:
			h.addEvidence(ctx)
		case n < 46:
			h.verifyEvidence(ctx)
		case n < 66:
			h.requestCorrection(ctx)
		case n < 84:
			h.decide(ctx, "approve")
		case n < 89:
			h.decide(ctx, "deny")
		case n < 93:
			h.decide(ctx, "cancel")
		default:
			h.requestReversal(ctx)
		}
	}
}

func (h *crashHarness) snapshotCases() []crashCase {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cases
}

func (h *crashHarness) someCase(typ string) (crashCase, bool) {
	var pick []crashCase
	for _, c := range h.snapshotCases() {
		if typ == "" || c.typ == typ {
			pick = append(pick, c)
		}
	}
	if len(pick) == 0 {
		return crashCase{}, false
	}
	return pick[mathrand.IntN(len(pick))], true
}

// remember records a case from its 201 answer.
func (h *crashHarness) remember(body []byte, c crashCase) {
	var v struct {
		Ref   string
		Cards []struct{ ID string }
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Ref == "" || len(v.Cards) != 1 {
		h.t.Errorf("case answer %s: %v", h.scrub(body), err)
		return
	}
	c.ref, c.cardID = v.Ref, v.Cards[0].ID
	h.mu.Lock()
	h.cases = append(h.cases, c)
	h.mu.Unlock()
}

func (h *crashHarness) createCase(ctx context.Context) {
	c := crashCase{customer: fmt.Sprintf("CRCUST%02d", mathrand.IntN(8)), code: newClaimCode(), face: int64(60000 + 1000*mathrand.IntN(60))}
	// Now and then the card of an earlier case turns up on a new one: R3 links them, and R7's sum
	// runs across both.
	if old, ok := h.someCase(""); ok && mathrand.IntN(6) == 0 {
		c.customer, c.code, c.face, c.typ = old.customer, old.code, old.face, old.typ
	} else if mathrand.IntN(3) == 0 {
		c.typ = "unactivated_card"
	} else {
		c.typ = "wrong_account"
	}
	h.mu.Lock()
	h.codes = append(h.codes, c.code)
	h.mu.Unlock()
	card := map[string]any{"claim_code": c.code, "face_value_minor": c.face, "currency": "USD", "marketplace": "US"}
	body := map[string]any{"type": c.typ, "summary": fmt.Sprintf("crash round %d, case %d", h.round, h.seq.Add(1)),
		"description": "the customer read the code " + c.code + " over the phone",
		"customer":    map[string]any{"account_id": c.customer, "marketplace": "US"}, "cards": []any{card}}
	if c.typ == "wrong_account" {
		c.intended = "CRHOME" + c.customer[6:]
		body["intended_account"] = map[string]any{"account_id": c.intended, "marketplace": "US"}
		card["status"], card["redeemed_to"] = "redeemed", c.customer
	} else {
		card["status"] = "not_activated"
	}
	b, _ := json.Marshal(body)
	if status, answer := h.send(ctx, crashRequest{op: "case", method: http.MethodPost, path: "/api/v1/cases", token: "agent",
		contentType: "application/json", body: b}); status == http.StatusCreated {
		h.remember(answer, c)
	}
}

func (h *crashHarness) addCommunication(ctx context.Context) {
	c, ok := h.someCase("")
	if !ok {
		return
	}
	direction := []string{"inbound", "outbound"}[mathrand.IntN(2)]
	b, _ := json.Marshal(map[string]any{"channel": "phone", "direction": direction, "occurred_at": time.Now().UTC().Format(time.RFC3339),
		"counterpart_name": "Pat", "body": fmt.Sprintf("call %d: the customer repeated %s twice", h.seq.Add(1), c.code)})
	h.send(ctx, crashRequest{op: "communication", method: http.MethodPost, path: "/api/v1/cases/" + c.ref + "/communications",
		token: "agent", contentType: "application/json", body: b})
}

func (h *crashHarness) addEvidence(ctx context.Context) {
	c, ok := h.someCase("")
	if !ok {
		return
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := map[string]string{"kind": "receipt", "amount_minor": strconv.FormatInt(c.face, 10), "currency": "USD",
		"purchased_at": "2026-11-01", "store_name": "Store 12", "card_last4": c.code[len(c.code)-4:],
		"note": fmt.Sprintf("receipt %d: the photo shows %s", h.seq.Add(1), c.code)}
	// Writes to a bytes.Buffer cannot fail.
	for _, k := range []string{"kind", "amount_minor", "currency", "purchased_at", "store_name", "card_last4", "note"} {
		_ = mw.WriteField(k, fields[k])
	}
	fw, _ := mw.CreateFormFile("file", "receipt.png")
	file := make([]byte, 256)
	_, _ = rand.Read(file)
	_, _ = fw.Write(append([]byte("\x89PNG\r\n\x1a\n"), file...))
	_ = mw.Close()
	status, answer := h.send(ctx, crashRequest{op: "evidence", method: http.MethodPost, path: "/api/v1/cases/" + c.ref + "/evidence",
		token: "agent", contentType: mw.FormDataContentType(), body: buf.Bytes()})
	if status == http.StatusCreated {
		var v struct{ ID string }
		if json.Unmarshal(answer, &v) == nil && v.ID != "" {
			h.mu.Lock()
			h.evidence = append(h.evidence, v.ID)
			h.mu.Unlock()
		}
	}
}

func (h *crashHarness) verifyEvidence(ctx context.Context) {
	h.mu.Lock()
	if len(h.evidence) == 0 {
		h.mu.Unlock()
		return
	}
	i := mathrand.IntN(len(h.evidence))
	id := h.evidence[i]
	h.evidence = append(h.evidence[:i], h.evidence[i+1:]...)
	h.mu.Unlock()
	h.send(ctx, crashRequest{op: "verify", method: http.MethodPost, path: "/api/v1/evidence/" + id + "/verify",
		token: []string{"sup1", "sup2"}[mathrand.IntN(2)], contentType: "application/json",
		body: []byte(`{"verdict":"verified","note":"matches the receipt"}`)})
}

func (h *crashHarness) requestCorrection(ctx context.Context) {
	c, ok := h.someCase("")
	if !ok {
		return
	}
	// Below and above USD's dual-approval threshold (50000): single and dual approvals.
	amount := int64(500 + mathrand.IntN(20000))
	if mathrand.IntN(3) == 0 {
		amount = int64(50000 + mathrand.IntN(15000))
	}
	body := map[string]any{"amount_minor": amount, "currency": "USD", "to_account": c.customer, "card_id": c.cardID,
		"reason": fmt.Sprintf("request %d: the customer gave %s", h.seq.Add(1), c.code)}
	if c.typ == "wrong_account" {
		body["kind"], body["from_account"], body["to_account"] = "transfer", c.customer, c.intended
	} else {
		body["kind"] = "credit"
	}
	b, _ := json.Marshal(body)
	h.send(ctx, crashRequest{op: "correction", method: http.MethodPost, path: "/api/v1/cases/" + c.ref + "/corrections",
		token: "agent", contentType: "application/json", body: b})
}

// someCorrection picks a correction of status from the API's list.
func (h *crashHarness) someCorrection(ctx context.Context, status string) (string, bool) {
	var list struct {
		Data []struct {
			ID, Kind string
		}
	}
	if !h.get(ctx, "sup1", "/api/v1/corrections?limit=100&status="+status, &list) {
		return "", false
	}
	var ids []string
	for _, c := range list.Data {
		if status != "applied" || c.Kind != "reversal" {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return "", false
	}
	return ids[mathrand.IntN(len(ids))], true
}

func (h *crashHarness) decide(ctx context.Context, verb string) {
	id, ok := h.someCorrection(ctx, "pending")
	if !ok {
		return
	}
	token, body := []string{"sup1", "sup2"}[mathrand.IntN(2)], `{"note":"checked"}`
	switch verb {
	case "deny":
		body = `{"reason":"not proven"}`
	case "cancel":
		token, body = "agent", `{}`
	}
	h.send(ctx, crashRequest{op: verb, method: http.MethodPost, path: "/api/v1/corrections/" + id + "/" + verb,
		token: token, contentType: "application/json", body: []byte(body)})
}

func (h *crashHarness) requestReversal(ctx context.Context) {
	id, ok := h.someCorrection(ctx, "applied")
	if !ok {
		return
	}
	var c struct{ Case string }
	if !h.get(ctx, "agent", "/api/v1/corrections/"+id, &c) {
		return
	}
	b, _ := json.Marshal(map[string]any{"kind": "reversal", "reverses": id, "reason": fmt.Sprintf("request %d: applied in error", h.seq.Add(1))})
	h.send(ctx, crashRequest{op: "reversal", method: http.MethodPost, path: "/api/v1/cases/" + c.Case + "/corrections",
		token: "agent", contentType: "application/json", body: b})
}

// retryUnanswered sends again, under the same key, every request whose answer the kill
// swallowed: it is replayed (it committed) or run (it did not), never refused as still running
// once the killed server's connections are gone.
func (h *crashHarness) retryUnanswered() {
	h.mu.Lock()
	pending := h.unanswered
	h.unanswered = nil
	h.mu.Unlock()
	for _, r := range pending {
		deadline := time.Now().Add(15 * time.Second)
		for {
			status, body, header, err := h.do(context.Background(), r)
			if err != nil {
				h.t.Fatalf("retry of %s %s: %v", r.method, r.path, err)
			}
			code := problemCode(body)
			if status == http.StatusConflict && code == cases.CodeIdempotencyInProgress && time.Now().Before(deadline) {
				// The killed server's database session may outlive it by a moment.
				h.retried["409 idempotency_in_progress, then again"]++
				time.Sleep(200 * time.Millisecond)
				continue
			}
			kind := strconv.Itoa(status)
			switch {
			case status >= 300:
				kind += " " + code
			case header.Get("Idempotency-Replayed") == "true":
				kind += " replayed"
			default:
				kind += " ran"
			}
			h.retried[r.op+" "+kind]++
			if status >= 300 && !expectedRefusals[kind] {
				h.t.Errorf("%s %s sent again under its key after the restart: %s: %s", r.method, r.path, kind, h.scrub(body))
			}
			if r.op == "case" && status == http.StatusCreated {
				var c crashCase
				h.rememberRetried(body, r, &c)
			}
			break
		}
	}
}

// rememberRetried records a case created (or replayed) by a retry, from the body it sent.
func (h *crashHarness) rememberRetried(answer []byte, r crashRequest, c *crashCase) {
	var sent struct {
		Type     string
		Customer struct {
			AccountID string `json:"account_id"`
		}
		Intended *struct {
			AccountID string `json:"account_id"`
		} `json:"intended_account"`
		Cards []struct {
			ClaimCode string `json:"claim_code"`
			Face      int64  `json:"face_value_minor"`
		}
	}
	if err := json.Unmarshal(r.body, &sent); err != nil {
		h.t.Fatal(err)
	}
	c.typ, c.customer, c.code, c.face = sent.Type, sent.Customer.AccountID, sent.Cards[0].ClaimCode, sent.Cards[0].Face
	if sent.Intended != nil {
		c.intended = sent.Intended.AccountID
	}
	h.remember(answer, *c)
}

// replaySample sends a few answered requests again: each must answer exactly as it did.
func (h *crashHarness) replaySample() {
	h.mu.Lock()
	var sample []crashRequest
	for i := 0; i < 8 && len(h.answered) > 0; i++ {
		sample = append(sample, h.answered[mathrand.IntN(len(h.answered))])
	}
	h.mu.Unlock()
	for _, r := range sample {
		status, body, header, err := h.do(context.Background(), r)
		if err != nil {
			h.t.Fatalf("replay of %s %s: %v", r.method, r.path, err)
		}
		if status != r.status || !bytes.Equal(body, r.answer) || header.Get("Idempotency-Replayed") != "true" {
			h.t.Errorf("%s %s sent again under its key answered %d %s, first %d %s", r.method, r.path, status, h.scrub(body), r.status, h.scrub(r.answer))
		}
		h.retried["answered request replayed"]++
	}
}

// checkRound runs every check against the restarted desk.
func (h *crashHarness) checkRound(bin string, env []string, dataDir string) {
	t, ctx := h.t, context.Background()
	violations, err := casestest.Violations(ctx, h.db, cases.DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Errorf("round %d: %s", h.round, v)
	}
	// Every request carries a text of its own: two rows with one text are one request run twice.
	// Only the text's tag is shown, before its colon: the rest may hold a code, were R2 broken.
	var twice []string
	modelstest.Scan(t, h.db, &twice, `SELECT format('%s', summary) FROM cases GROUP BY summary HAVING count(*) > 1
		UNION ALL SELECT format('communication %s', split_part(body, ':', 1)) FROM communications GROUP BY body HAVING count(*) > 1
		UNION ALL SELECT format('evidence %s', split_part(note, ':', 1)) FROM evidence GROUP BY note HAVING count(*) > 1
		UNION ALL SELECT format('correction %s', split_part(reason, ':', 1)) FROM corrections GROUP BY reason HAVING count(*) > 1`)
	for _, d := range twice {
		t.Errorf("round %d: one request ran twice: %s", h.round, d)
	}
	h.checkAPIAgrees(ctx)
	h.checkWebhooks()
	h.mu.Lock()
	codes := append([]string(nil), h.codes...)
	h.mu.Unlock()
	files, err := casestest.FilesHoldingCodes(dataDir, codes)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := casestest.RowsHoldingCodes(ctx, h.db, codes)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range append(files, rows...) {
		t.Errorf("round %d: claim code in clear: %s", h.round, leak)
	}
	verify := exec.Command(bin, "audit", "verify")
	verify.Env = env
	if out, err := verify.CombinedOutput(); err != nil {
		t.Errorf("round %d: audit verify: %v: %s", h.round, err, out)
	}
}

// checkAPIAgrees reads every account and correction the load touched through the API and compares
// them with the rows.
func (h *crashHarness) checkAPIAgrees(ctx context.Context) {
	t := h.t
	var accounts []string
	modelstest.Scan(t, h.db, &accounts, `SELECT DISTINCT a.account_id FROM customer_accounts a JOIN postings p ON p.account_id = a.id ORDER BY 1`)
	for _, acct := range accounts {
		var sums []struct {
			Currency string
			Sum      int64
		}
		modelstest.Scan(t, h.db, &sums, `SELECT p.currency, SUM(p.amount_minor) AS sum FROM postings p
			JOIN customer_accounts a ON a.id = p.account_id WHERE a.account_id = ? GROUP BY p.currency`, acct)
		var v struct{ Balances map[string]int64 }
		if !h.get(ctx, "agent", "/api/v1/accounts/"+url.PathEscape(acct), &v) {
			continue
		}
		for _, s := range sums {
			if v.Balances[s.Currency] != s.Sum || len(v.Balances) != len(sums) {
				t.Errorf("account %s: the API shows %v, its postings sum to %d %s", acct, v.Balances, s.Sum, s.Currency)
			}
		}
	}
	type row struct {
		ID        string
		Status    string
		Approvals int
	}
	var want []row
	modelstest.Scan(t, h.db, &want, `SELECT c.id::text AS id, c.status, (SELECT count(*) FROM correction_approvals a WHERE a.correction_id = c.id) AS approvals
		FROM corrections c ORDER BY c.id`)
	got := map[string]row{}
	for cursor := ""; ; {
		var page struct {
			Data []struct {
				ID, Status string
				Approvals  []json.RawMessage
			}
			NextCursor string `json:"next_cursor"`
		}
		path := "/api/v1/corrections?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if !h.get(ctx, "agent", path, &page) {
			return
		}
		for _, c := range page.Data {
			got[c.ID] = row{c.ID, c.Status, len(c.Approvals)}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for _, w := range want {
		if got[w.ID] != w {
			t.Errorf("correction %s: the API shows %+v, the rows %+v", w.ID, got[w.ID], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the API lists %d corrections, the table holds %d", len(got), len(want))
	}
}

// crashReceiver is the webhook endpoint: it checks each delivery's signature and keeps the first
// body of every event id; another body under an id it has seen is a conflict. It refuses one
// event in ten once with 503, so that retries run too.
type crashReceiver struct {
	secret []byte
	srv    *httptest.Server

	mu    sync.Mutex
	first map[string][]byte // the first body of each id
	// bodies are the ones accepted. Only an id's first arrival is ever refused: its retry comes
	// 5 s later, a second refusal's 5 minutes later.
	bodies    map[string][]byte
	received  int
	repeats   int
	refused   int
	conflicts []string
	badSigned int
}

func newCrashReceiver(secret []byte) *crashReceiver {
	r := &crashReceiver{secret: secret, first: map[string][]byte{}, bodies: map[string][]byte{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		defer r.mu.Unlock()
		r.received++
		if !webhooks.Verify(r.secret, id, req.Header.Get("webhook-timestamp"), b, req.Header.Get("webhook-signature")) {
			r.badSigned++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// The first body of an id, refused or not, is the one every later arrival must repeat.
		first, seen := r.first[id]
		if !seen {
			r.first[id] = b
		}
		_, accepted := r.bodies[id]
		switch {
		case seen && !bytes.Equal(first, b):
			r.conflicts = append(r.conflicts, fmt.Sprintf("%s: %s then %s", id, first, b))
		case accepted:
			r.repeats++
		case !seen && mathrand.IntN(10) == 0:
			r.refused++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.bodies[id] = b
		w.WriteHeader(http.StatusNoContent)
	}))
	return r
}

// subscribe registers the receiver for every event through the API.
func (h *crashHarness) subscribe() {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	h.receiver = newCrashReceiver(raw)
	h.t.Cleanup(h.receiver.srv.Close)
	b, _ := json.Marshal(map[string]any{"url": h.receiver.srv.URL + "/hook", "secret": secret,
		"events": []string{"case.created", "case.updated", "communication.created", "evidence.added", "correction.requested",
			"correction.applied", "correction.denied", "correction.reversed"}})
	status, body, _, err := h.do(context.Background(), crashRequest{method: http.MethodPost, path: "/api/v1/webhooks", token: "admin",
		contentType: "application/json", body: b})
	if err != nil || status != http.StatusCreated {
		h.t.Fatalf("create the webhook endpoint: %d %s %v", status, body, err)
	}
	var v struct{ ID string }
	if err := json.Unmarshal(body, &v); err != nil {
		h.t.Fatal(err)
	}
	h.endpoint = v.ID
}

// checkWebhooks: no event id arrived with two bodies, each arrived body is its outbox event, and
// every delivery the desk marked delivered arrived.
func (h *crashHarness) checkWebhooks() {
	t, r := h.t, h.receiver
	h.mu.Lock()
	codes := append([]string(nil), h.codes...)
	h.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conflicts {
		t.Errorf("round %d: one webhook event, two payloads: %s", h.round, scrubCodes([]byte(c), codes))
	}
	if r.badSigned > 0 {
		t.Errorf("round %d: %d deliveries badly signed", h.round, r.badSigned)
	}
	var delivered []int64
	modelstest.Scan(t, h.db, &delivered, `SELECT outbox_id FROM webhook_deliveries WHERE status = 'delivered' ORDER BY outbox_id`)
	for _, id := range delivered {
		if _, ok := r.bodies[webhooks.EventID(id)]; !ok {
			t.Errorf("round %d: outbox event %d is marked delivered but never arrived", h.round, id)
		}
	}
	if len(r.bodies) == 0 {
		return
	}
	var events []struct {
		ID      int64
		Payload string
	}
	modelstest.Scan(t, h.db, &events, `SELECT id, payload::text AS payload FROM outbox ORDER BY id`)
	for _, e := range events {
		b, ok := r.bodies[webhooks.EventID(e.ID)]
		if !ok {
			continue
		}
		var got struct{ Data json.RawMessage }
		if err := json.Unmarshal(b, &got); err != nil || !jsonEqual(got.Data, []byte(e.Payload)) {
			t.Errorf("round %d: event %d arrived as %s, the outbox holds %s", h.round, e.ID, scrubCodes(b, codes), scrubCodes([]byte(e.Payload), codes))
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// drainWebhooks waits until every outbox event has arrived at the receiver: deliveries a killed
// server had claimed wait out their lease (a minute), so this takes up to that long.
func (h *crashHarness) drainWebhooks() time.Duration {
	start := time.Now()
	var missing []int64
	for deadline := start.Add(100 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		var ids []int64
		modelstest.Scan(h.t, h.db, &ids, `SELECT id FROM outbox ORDER BY id`)
		h.receiver.mu.Lock()
		missing = missing[:0]
		for _, id := range ids {
			if _, ok := h.receiver.bodies[webhooks.EventID(id)]; !ok {
				missing = append(missing, id)
			}
		}
		h.receiver.mu.Unlock()
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var states []string
			modelstest.Scan(h.t, h.db, &states, `SELECT format('outbox %s: %s', o.id, coalesce(d.status || ' after ' || d.attempts || ' attempts', 'no delivery'))
				FROM outbox o LEFT JOIN webhook_deliveries d ON d.outbox_id = o.id WHERE o.id IN ? ORDER BY o.id LIMIT 20`, missing)
			h.t.Fatalf("%d webhook events never arrived: %s", len(missing), strings.Join(states, "; "))
		}
	}
	h.checkWebhooks()
	return time.Since(start)
}

// report logs the figures RELIABILITY.md quotes.
func (h *crashHarness) report(rounds int, took, drained time.Duration) {
	t := h.t
	h.mu.Lock()
	defer h.mu.Unlock()
	lines := func(m map[string]int) string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "\n    %6d  %s", m[k], k)
		}
		return b.String()
	}
	var committed struct{ Cases, Communications, Evidence, Corrections, Applied, Reversed, Postings, Outbox, Audit int64 }
	modelstest.Scan(t, h.db, &committed, `SELECT (SELECT count(*) FROM cases) AS cases, (SELECT count(*) FROM communications) AS communications,
		(SELECT count(*) FROM evidence) AS evidence, (SELECT count(*) FROM corrections) AS corrections,
		(SELECT count(*) FROM corrections WHERE status = 'applied') AS applied, (SELECT count(*) FROM corrections WHERE status = 'reversed') AS reversed,
		(SELECT count(*) FROM postings) AS postings, (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM audit_events) AS audit`)
	r := h.receiver
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("crash rounds: %d rounds, %d SIGKILLs, %d requests in %s (webhooks drained %s after the last round)\n"+
		"  answers during the rounds:%s\n  sent again after a restart:%s\n"+
		"  committed: %+v\n  webhooks: %d events arrived, %d deliveries received, %d repeats with identical bodies, %d refused by the receiver, %d conflicting payloads\n"+
		"  claim codes sent: %d; violations: 0",
		rounds, h.kills, h.sent.Load(), took.Round(time.Second), drained.Round(time.Second), lines(h.outcomes), lines(h.retried),
		committed, len(r.bodies), r.received, r.repeats, r.refused, len(r.conflicts), len(h.codes))
}
