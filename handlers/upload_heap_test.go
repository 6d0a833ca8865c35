package handlers

import (
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// streamedUpload returns a multipart body that writes a fileSize-byte PNG as it is read, so the
// test itself never holds a file.
func streamedUpload(seed uint64, fileSize int) (io.Reader, string) {
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		if err := w.WriteField("kind", "other"); err != nil {
			pw.CloseWithError(err)
			return
		}
		fw, err := w.CreateFormFile("file", fmt.Sprintf("scan-%d.png", seed))
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		if _, err := fw.Write([]byte("\x89PNG\r\n\x1a\n")); err != nil {
			pw.CloseWithError(err)
			return
		}
		rng := rand.New(rand.NewPCG(seed, seed))
		buf := make([]byte, 32<<10)
		for written := 8; written < fileSize; written += len(buf) {
			for i := range buf {
				buf[i] = byte(rng.Uint32())
			}
			n := min(len(buf), fileSize-written)
			if _, err := fw.Write(buf[:n]); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(w.Close())
	}()
	return pr, w.FormDataContentType()
}

// TestConcurrentUploadsKeepTheHeapBounded uploads 50 files of 5 MiB at once and samples the heap:
// held whole, they alone would need 250 MiB.
func TestConcurrentUploadsKeepTheHeapBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("250 MiB of uploads: skipped with -short")
	}
	h := newHarness(t, modelstest.Open(t, models.Postgres))
	agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	ref := h.newCase(agent, "heap")
	const files, size = 50, 5 << 20
	// A token holds at most two upload slots: 25 integrations send two files each.
	tokens := make([]string, files/2)
	for i := range tokens {
		tokens[i] = h.token(fmt.Sprintf("integration%d@example.com", i), cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
	}
	// The limit is on growth over what earlier tests of the package left live. The collector runs
	// when the heap grows by a fifth, not the default double, so that what they left cannot hide
	// uploads held in memory.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	codes := make(chan int, files)
	for i := 0; i < files; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body, ct := streamedUpload(uint64(i+1), size)
			req := httptest.NewRequest(http.MethodPost, "/api/v1/cases/"+ref+"/evidence", body)
			req.ContentLength = -1
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
			rec := httptest.NewRecorder()
			h.srv.ServeHTTP(rec, req)
			codes <- rec.Code
		}(i)
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(codes)
	for code := range codes {
		if code != http.StatusCreated {
			t.Fatalf("upload answered %d", code)
		}
	}
	stored := modelstest.Count(t, h.db, `SELECT COALESCE(sum(size), 0) FROM evidence_files`)
	if stored != files*size {
		t.Fatalf("%d bytes stored, want %d", stored, files*size)
	}
	const limit = 128 << 20
	growth := peak.Load() - min(peak.Load(), before.HeapInuse)
	t.Logf("50 concurrent 5 MiB uploads in %s: peak heap in use %.1f MiB, %.1f MiB at the start (limit: %d MiB more)",
		time.Since(start).Round(time.Millisecond), float64(peak.Load())/(1<<20), float64(before.HeapInuse)/(1<<20), limit>>20)
	if growth > limit {
		t.Fatalf("peak heap %.1f MiB, over %d MiB more than at its start: uploads are being held in memory", float64(peak.Load())/(1<<20), limit>>20)
	}
}
