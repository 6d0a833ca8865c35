package handlers

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestStalledUploadsCannotStarveOthers is issue 19's attack: clients that send an upload's headers
// and a few body bytes, then nothing. A token holds at most two slots, a stalled body gives its
// slot back after the idle timeout, and a request without a valid token never waits for a slot.
func TestStalledUploadsCannotStarveOthers(t *testing.T) {
	h := newHarnessWith(t, modelstest.Open(t, models.Postgres), Config{MaxUploads: 3, MaxUploadsPerToken: 2,
		UploadIdleTimeout: 700 * time.Millisecond, UploadTimeout: 10 * time.Second})
	ts := httptest.NewServer(h.srv)
	t.Cleanup(ts.Close) // after the stalled connections' cleanups: Close waits for them
	attacker := h.token("attacker@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	other := h.token("other@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	third := h.token("third@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	ref := h.newCase(other, "slots")

	stall := func(token string) (net.Conn, *bufio.Reader) {
		t.Helper()
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := fmt.Fprintf(conn, "POST /api/v1/cases/%s/evidence HTTP/1.1\r\nHost: desk\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 100000\r\n\r\n--XY", ref, token); err != nil {
			t.Fatal(err)
		}
		return conn, bufio.NewReader(conn)
	}
	status := func(conn net.Conn, r *bufio.Reader, within time.Duration) int {
		t.Helper()
		if err := conn.SetReadDeadline(time.Now().Add(within)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("no answer within %s: %v", within, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	held := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); len(h.srv.uploads) != n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d upload slots held, want %d", len(h.srv.uploads), n)
			}
		}
	}
	upload := func(token string) int {
		t.Helper()
		body, ct := multipartBody(t, map[string]string{"kind": "card_photo"}, "card.png", pngBytes)
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/cases/"+ref+"/evidence", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+token)
		client := http.Client{Timeout: 3 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("upload: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// The attacker's token takes two slots; its third stalled upload is refused at once.
	c1, r1 := stall(attacker)
	c2, r2 := stall(attacker)
	held(2)
	c3, r3 := stall(attacker)
	if got := status(c3, r3, 2*time.Second); got != http.StatusTooManyRequests {
		t.Fatalf("a third upload of one token: %d, want 429", got)
	}
	// Another stalled client takes the last slot: a request without a valid token is still
	// answered at once, because the token is checked before a slot is awaited.
	c4, r4 := stall(third)
	held(3)
	c5, r5 := stall("not-a-token")
	if got := status(c5, r5, 2*time.Second); got != http.StatusUnauthorized {
		t.Fatalf("an upload without a valid token while the slots are full: %d, want 401", got)
	}
	// The stalled bodies give their slots back within the idle timeout, with 408.
	for i, c := range []struct {
		conn net.Conn
		r    *bufio.Reader
	}{{c1, r1}, {c2, r2}, {c4, r4}} {
		if got := status(c.conn, c.r, 3*time.Second); got != http.StatusRequestTimeout {
			t.Fatalf("stalled upload %d: %d, want 408", i, got)
		}
	}
	held(0)
	if got := upload(other); got != http.StatusCreated {
		t.Fatalf("an honest upload after the stall: %d", got)
	}
}
