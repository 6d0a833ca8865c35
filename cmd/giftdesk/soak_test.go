package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
)

// soakDuration is how long TestSoak runs: a minute by default (CI), GIFTDESK_SOAK=10m by hand.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("GIFTDESK_SOAK")
	if v == "" {
		return time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 10*time.Second {
		t.Fatalf("GIFTDESK_SOAK=%q: want a duration of at least 10s, such as 10m", v)
	}
	return d
}

// TestSoak runs `giftdesk serve` on PostgreSQL under a steady mix of every kind of API write and
// read and the console's pages (issue 26), paced at a fixed rate on loopback, and fails on any
// error answer, on any request slower than its 10 s timeout, and on a server whose memory keeps
// growing: its resident size in the last quarter of the run must stay within 1.5× (plus 32 MiB of
// slack for a warming heap) of what it was after the first quarter. It logs error rate, p50/p99 per
// kind of request and the memory samples, one name=value line each, for RELIABILITY.md.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of load on a real server: skipped with -short")
	}
	duration := soakDuration(t)
	dir, bin, dbURL, db := binaryOnPostgres(t)
	ctx := context.Background()
	desk := cases.New(cases.Config{DB: db, Keys: casestest.Keys})
	const password = "soak horse battery staple"
	for _, u := range []cases.NewUser{{Email: "agent@example.com", Name: "Agent", Role: cases.RoleAgent},
		{Email: "sup@example.com", Name: "Supervisor", Role: cases.RoleSupervisor}} {
		u.Password = password
		if _, err := desk.AddUser(ctx, cases.CLIActor, u); err != nil {
			t.Fatal(err)
		}
	}
	token := func(email string, scopes ...cases.Scope) string {
		secret, _, err := desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: email, Name: "soak", Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	// Four workers, each an agent's client with its own token (a token may send two uploads at
	// once), each starting one round of the mix every 400 ms: about 100 requests a second.
	const workers = 4
	s := &soak{t: t,
		sup:   token("sup@example.com", cases.ScopeCasesRead, cases.ScopeCorrectionsDecide),
		api:   &http.Client{Timeout: 10 * time.Second},
		stats: map[string]*soakStat{}}
	server, addr := startServer(t, bin, serverEnv(dbURL, filepath.Join(dir, "data")))
	defer func() { _ = server.Process.Signal(syscall.SIGTERM); _ = server.Wait() }()
	s.base = "http://" + addr
	for range workers {
		s.agents = append(s.agents, token("agent@example.com", cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite, cases.ScopeExport))
	}
	s.agentPages = s.signIn("agent@example.com", password)
	s.supPages = s.signIn("sup@example.com", password)

	// Memory: the server's resident size every 2 s.
	var rss []int64
	var rssMu sync.Mutex
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			if kb, err := residentKiB(server.Process.Pid); err == nil {
				rssMu.Lock()
				rss = append(rss, kb)
				rssMu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	var rounds atomic.Int64
	end := time.Now().Add(duration)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(400 * time.Millisecond)
			defer tick.Stop()
			for i := 0; time.Now().Before(end); i++ {
				s.round(s.agents[w], fmt.Sprintf("w%dr%d", w, i), i)
				rounds.Add(1)
				<-tick.C
			}
		}()
	}
	wg.Wait()
	close(stop)
	sampler.Wait()

	var sent, failed int64
	kinds := make([]string, 0, len(s.stats))
	for k := range s.stats {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		st := s.stats[k]
		slices.Sort(st.ms)
		sent += int64(len(st.ms)) + st.errors
		failed += st.errors
		t.Logf("soak_%s_requests=%d soak_%s_errors=%d soak_%s_p50_ms=%.1f soak_%s_p99_ms=%.1f", k, len(st.ms), k, st.errors,
			k, quantile(st.ms, 0.50), k, quantile(st.ms, 0.99))
	}
	t.Logf("soak_duration=%s soak_rounds=%d soak_requests=%d soak_errors=%d soak_rss_kib=%v", duration, rounds.Load(), sent, failed, rss)
	for _, e := range s.firstErrors {
		t.Error(e)
	}
	if failed > 0 {
		t.Errorf("%d of %d requests failed", failed, sent)
	}
	if len(rss) < 8 {
		t.Fatalf("only %d memory samples", len(rss))
	}
	quarter := len(rss) / 4
	settled := slices.Max(rss[1 : quarter+1]) // the first sample is the start, before the heap settles
	late := slices.Max(rss[len(rss)-quarter:])
	if limit := settled*3/2 + 32<<10; late > limit {
		t.Errorf("the server's memory kept growing: %d KiB after the first quarter, %d KiB in the last (limit %d)", settled, late, limit)
	}
	// The desk is still whole after the load: every money and audit rule holds, the chain verifies.
	broken, err := casestest.Violations(ctx, db, cases.DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range broken {
		t.Errorf("after the soak: %s", v)
	}
	verify := exec.Command(bin, "audit", "verify")
	verify.Env = serverEnv(dbURL, filepath.Join(dir, "data"))
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("audit verify after the soak: %v: %s", err, out)
	}
}

// soak is the load's clients and what they measured.
type soak struct {
	t                  *testing.T
	base               string
	agents             []string     // API tokens of the agent, one per worker
	sup                string       // the supervisor's API token
	api                *http.Client // no cookies
	agentPages         *http.Client // a signed-in agent's console
	supPages           *http.Client // a signed-in supervisor's console
	mu                 sync.Mutex
	stats              map[string]*soakStat
	firstErrors        []string
	caseN, correctionN atomic.Int64
}

type soakStat struct {
	ms     []float64
	errors int64
}

// round is one pass of the mix: a case made through the API under an Idempotency-Key, read,
// searched and listed, a communication, an evidence upload, a correction approved, denied or
// cancelled, the accounts' page, and the console's pages of both users; every fourth round an
// export of today's cases.
func (s *soak) round(agent, key string, i int) {
	n := s.caseN.Add(1)
	body := fmt.Sprintf(`{"type": "wrong_account", "summary": "Soak %[1]d", "customer": {"account_id": "SOAKC%[1]d", "marketplace": "US",
		"email": "soak%[1]d@example.com"}, "intended_account": {"account_id": "SOAKH%[1]d", "marketplace": "US"},
		"cards": [{"serial": "%[2]s", "face_value_minor": 100000, "currency": "USD", "marketplace": "US", "status": "redeemed",
		"redeemed_to": "SOAKC%[1]d", "redeemed_at": "2026-11-20T10:00:00Z"}]}`, n, fmt.Sprintf("77%012d", n))
	created, ok := s.call("case_create", agent, http.MethodPost, "/api/v1/cases", "application/json", []byte(body), http.StatusCreated, "soak-"+key)
	if !ok {
		return
	}
	var c struct {
		Ref   string `json:"ref"`
		Cards []struct {
			ID string `json:"id"`
		} `json:"cards"`
	}
	if err := json.Unmarshal(created, &c); err != nil || c.Ref == "" || len(c.Cards) == 0 {
		s.fail("case_create", fmt.Sprintf("answer without a ref or a card: %v: %.200s", err, created))
		return
	}
	s.call("case_get", agent, http.MethodGet, "/api/v1/cases/"+c.Ref, "", nil, http.StatusOK, "")
	s.call("case_search", agent, http.MethodGet, "/api/v1/cases?q=SOAKC"+strconv.FormatInt(n, 10), "", nil, http.StatusOK, "")
	s.call("case_list", agent, http.MethodGet, "/api/v1/cases?status=new", "", nil, http.StatusOK, "")
	s.call("communication", agent, http.MethodPost, "/api/v1/cases/"+c.Ref+"/communications", "application/json",
		[]byte(`{"channel": "phone", "direction": "inbound", "body": "Customer called about the card."}`), http.StatusCreated, "")
	form, contentType := evidenceForm(n)
	s.call("evidence", agent, http.MethodPost, "/api/v1/cases/"+c.Ref+"/evidence", contentType, form, http.StatusCreated, "")
	correction := fmt.Sprintf(`{"kind": "transfer", "amount_minor": 100, "currency": "USD", "from_account": "SOAKC%[1]d",
		"to_account": "SOAKH%[1]d", "card_id": %[2]q, "reason": "Soak"}`, n, c.Cards[0].ID)
	requested, ok := s.call("correction_request", agent, http.MethodPost, "/api/v1/cases/"+c.Ref+"/corrections", "application/json",
		[]byte(correction), http.StatusCreated, "soak-corr-"+key)
	if ok {
		var corr struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(requested, &corr); err != nil || corr.ID == "" {
			s.fail("correction_request", fmt.Sprintf("answer without an id: %.200s", requested))
		} else {
			switch s.correctionN.Add(1) % 3 {
			case 0:
				s.call("correction_approve", s.sup, http.MethodPost, "/api/v1/corrections/"+corr.ID+"/approve", "application/json",
					[]byte(`{"note": "ok"}`), http.StatusOK, "")
			case 1:
				s.call("correction_deny", s.sup, http.MethodPost, "/api/v1/corrections/"+corr.ID+"/deny", "application/json",
					[]byte(`{"reason": "not ours"}`), http.StatusOK, "")
			default:
				s.call("correction_cancel", agent, http.MethodPost, "/api/v1/corrections/"+corr.ID+"/cancel", "application/json",
					[]byte(`{}`), http.StatusOK, "")
			}
		}
	}
	s.call("account", agent, http.MethodGet, "/api/v1/accounts/SOAKC"+strconv.FormatInt(n, 10), "", nil, http.StatusOK, "")
	s.page("page_home", s.agentPages, "/")
	s.page("page_cases", s.agentPages, "/cases")
	s.page("page_case", s.agentPages, "/cases/"+c.Ref)
	s.page("page_approvals", s.supPages, "/approvals")
	if i%4 == 0 {
		s.page("page_reports", s.supPages, "/reports")
		s.call("export_csv", agent, http.MethodGet, "/api/v1/export/cases.csv?from="+time.Now().UTC().Format("2006-01-02"), "", nil, http.StatusOK, "")
	}
}

// call sends one API request and records its latency, or an error when the answer is not want.
func (s *soak) call(kind, token, method, path, contentType string, body []byte, want int, idempotencyKey string) ([]byte, bool) {
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		s.fail(kind, err.Error())
		return nil, false
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	return s.do(kind, s.api, req, want)
}

// page GETs a console page as a signed-in user.
func (s *soak) page(kind string, client *http.Client, path string) {
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		s.fail(kind, err.Error())
		return
	}
	s.do(kind, client, req, http.StatusOK)
}

func (s *soak) do(kind string, client *http.Client, req *http.Request, want int) ([]byte, bool) {
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		s.fail(kind, err.Error())
		return nil, false
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	if err != nil || resp.StatusCode != want {
		s.fail(kind, fmt.Sprintf("%s %s: %d (want %d), %v: %.300s", req.Method, req.URL.Path, resp.StatusCode, want, err, out))
		return nil, false
	}
	s.mu.Lock()
	s.stat(kind).ms = append(s.stat(kind).ms, float64(elapsed.Microseconds())/1000)
	s.mu.Unlock()
	return out, true
}

func (s *soak) fail(kind, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stat(kind).errors++
	if len(s.firstErrors) < 10 {
		s.firstErrors = append(s.firstErrors, kind+": "+msg)
	}
}

func (s *soak) stat(kind string) *soakStat {
	st := s.stats[kind]
	if st == nil {
		st = &soakStat{}
		s.stats[kind] = st
	}
	return st
}

// signIn signs a user in to the console and returns a client carrying the session cookie.
func (s *soak) signIn(email, password string) *http.Client {
	s.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(s.base+"/login", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("sign-in of %s: %d", email, resp.StatusCode)
	}
	return client
}

// evidenceForm is a multipart upload of a small PNG (a photo of the card), different for each n so
// that no two uploads share a file hash.
func evidenceForm(n int64) ([]byte, string) {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	img.Pix[0] = byte(n)
	img.Pix[1] = byte(n >> 8)
	img.Pix[2] = byte(n >> 16)
	var file bytes.Buffer
	if err := png.Encode(&file, img); err != nil {
		panic(err)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("kind", "card_photo")
	part, _ := w.CreateFormFile("file", "card.png")
	_, _ = part.Write(file.Bytes())
	_ = w.Close()
	return body.Bytes(), w.FormDataContentType()
}

// residentKiB is a process's resident set size, from /proc.
func residentKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}

// quantile of sorted values (0 when none).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*q)]
}
