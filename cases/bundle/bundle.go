// Package bundle writes one case's evidence bundle (issue 24, SPEC 4.4): a ZIP of case.json,
// timeline.csv, every evidence file, summary.pdf and manifest.json, for escalations to the card
// issuer or the police. It imports cases and models only; the heavy PDF library stays here.
package bundle

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"giftdesk/cases"
)

// AuditAction is the audit trail's name for a bundle export.
const AuditAction = "case.bundle_exported"

// ManifestFormat names the manifest's layout, for whoever reads bundles later.
const ManifestFormat = "giftdesk-case-bundle/1"

// The bundle's fixed entries.
const (
	ManifestName = "manifest.json"
	CaseName     = "case.json"
	TimelineName = "timeline.csv"
	SummaryName  = "summary.pdf"
	evidenceDir  = "evidence/"
)

// Manifest is manifest.json: what the bundle holds, each file with its SHA-256 and size, and
// where the audit chain stood when it was made, so that a recipient can check both.
type Manifest struct {
	Format         string         `json:"format"`
	Case           string         `json:"case"`
	ExportedAt     time.Time      `json:"exported_at"`
	ExportedBy     Exporter       `json:"exported_by"`
	AuditChainHead ChainHead      `json:"audit_chain_head"`
	Files          []ManifestFile `json:"files"`
}

// Exporter is who made the bundle.
type Exporter struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Via   string `json:"via"` // "console", "token" or "cli"
}

// ChainHead is the last sealed link of the audit chain (R10) when the bundle was read: Seq 0 and
// a null hash while nothing is sealed. UnsealedEvents were written but not chained yet.
type ChainHead struct {
	Seq            int64      `json:"seq"`
	Hash           *string    `json:"hash"`
	EventID        *string    `json:"event_id"`
	SealedAt       *time.Time `json:"sealed_at"`
	UnsealedEvents int64      `json:"unsealed_events"`
}

// ManifestFile is one file of the bundle, the manifest excepted.
type ManifestFile struct {
	Name        string `json:"name"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	EvidenceID  string `json:"evidence_id,omitempty"`
}

// Bundle is one case's bundle with everything but the evidence files' bytes built, so that a
// refusal or a failure is known before the first byte is sent; WriteTo then streams it.
type Bundle struct {
	Manifest Manifest
	dossier  cases.Dossier
	parts    []part     // manifest, case, timeline, summary: in memory, small
	evidence []evidence // streamed from the database
}

type part struct {
	name string
	data []byte
}

type evidence struct {
	index       int // in the dossier
	id          int64
	name        string
	sha256      string
	size        int64
	contentType string
}

// Build reads case ref for p (see cases.Desk.CaseDossier: the export scope, and a supervisor or an
// admin), builds the bundle's small parts and the manifest, and writes the audit event of the
// export for a (who, the case, the files and their count). An error here leaves nothing sent.
func Build(ctx context.Context, desk *cases.Desk, p cases.Principal, a cases.Actor, ref string) (*Bundle, error) {
	x, err := desk.CaseDossier(ctx, p, ref)
	if err != nil {
		return nil, err
	}
	at := x.ReadAt.UTC().Truncate(time.Second)
	b := &Bundle{dossier: x}
	by := Exporter{Email: p.Email, Name: p.Name, Via: "console"}
	switch {
	case a.Kind == "cli":
		by.Via = "cli"
	case p.ViaToken():
		by.Via = "token"
	}
	caseJSON, err := json.MarshalIndent(x.Case, "", "  ")
	if err != nil {
		return nil, err
	}
	timeline, err := TimelineCSV(x.Timeline)
	if err != nil {
		return nil, err
	}
	summary, err := Summary(x, by, at)
	if err != nil {
		return nil, err
	}
	m := Manifest{Format: ManifestFormat, Case: x.Case.Ref, ExportedAt: at, ExportedBy: by, AuditChainHead: chainHead(x.Chain)}
	b.parts = []part{{CaseName, append(caseJSON, '\n')}, {TimelineName, timeline}, {SummaryName, summary}}
	for _, pt := range b.parts {
		sum := sha256.Sum256(pt.data)
		m.Files = append(m.Files, ManifestFile{Name: pt.name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(pt.data)), ContentType: contentTypes[pt.name]})
	}
	taken := map[string]bool{}
	for i, e := range x.Evidence {
		name := uniqueName(evidenceDir+EvidenceFileName(e), taken)
		b.evidence = append(b.evidence, evidence{index: i, id: e.ID, name: name, sha256: e.SHA256, size: e.Size, contentType: e.ContentType})
		m.Files = append(m.Files, ManifestFile{Name: name, SHA256: e.SHA256, Size: e.Size, ContentType: e.ContentType, EvidenceID: strconv.FormatInt(e.ID, 10)})
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	b.Manifest = m
	b.parts = append([]part{{ManifestName, append(manifest, '\n')}}, b.parts...)
	names := make([]string, 0, len(m.Files)+1)
	names = append(names, ManifestName)
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	err = desk.Do(ctx, a, func(w *cases.Work) error {
		return w.Audit(AuditAction, "case", x.Case.Ref, nil, map[string]any{
			"files": names, "file_count": len(names), "evidence_count": len(b.evidence),
			"audit_chain_head": m.AuditChainHead.Seq, "exported_at": at})
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

var contentTypes = map[string]string{
	ManifestName: "application/json", CaseName: "application/json", TimelineName: "text/csv", SummaryName: "application/pdf",
}

func chainHead(c cases.AuditChain) ChainHead {
	h := ChainHead{Seq: c.HeadSeq, UnsealedEvents: c.Unsealed}
	if c.HeadSeq > 0 {
		hash, id := c.HeadHash, strconv.FormatInt(c.HeadEventID, 10)
		h.Hash, h.EventID, h.SealedAt = &hash, &id, c.SealedAt
		if h.SealedAt != nil {
			t := h.SealedAt.UTC()
			h.SealedAt = &t
		}
	}
	return h
}

// FileName is the bundle's download name: the case's ref, which is digits and a dash.
func (b *Bundle) FileName() string { return b.Manifest.Case + ".zip" }

// ErrEvidenceChanged is a stored file whose bytes no longer match its recorded size or SHA-256:
// the bundle stops rather than send a file its manifest does not describe.
var ErrEvidenceChanged = errors.New("bundle: an evidence file does not match its recorded size or sha256")

// WriteTo writes the bundle as a ZIP stream: the manifest first, then case.json, timeline.csv,
// summary.pdf and the evidence files, read from the database chunk by chunk as they are written.
// On an error the archive is left without its central directory, so that no reader takes a
// partial bundle for a whole one.
func (b *Bundle) WriteTo(ctx context.Context, w io.Writer) error {
	zw := zip.NewWriter(w)
	modified := b.Manifest.ExportedAt
	for _, pt := range b.parts {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: pt.name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			return err
		}
		if _, err := f.Write(pt.data); err != nil {
			return err
		}
	}
	for _, e := range b.evidence {
		if err := ctx.Err(); err != nil {
			return err
		}
		content, err := b.dossier.Open(ctx, e.index)
		if err != nil {
			return err
		}
		// Images and PDFs are compressed already: stored as they are.
		f, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store, Modified: modified})
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(content, e.size+1))
		if err != nil {
			return err
		}
		if n != e.size || hex.EncodeToString(h.Sum(nil)) != e.sha256 {
			// The id, not the name: a name came from a client and errors are logged.
			return fmt.Errorf("%w: evidence %d", ErrEvidenceChanged, e.id)
		}
	}
	return zw.Close()
}

// uniqueName returns name, or name with -2, -3, ... before its extension when an entry of that
// name (ignoring case: some file systems do) is already taken.
func uniqueName(name string, taken map[string]bool) string {
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > strings.LastIndexByte(name, '/') {
		base, ext = name[:i], name[i:]
	}
	for n := 2; taken[strings.ToLower(name)]; n++ {
		name = base + "-" + strconv.Itoa(n) + ext
	}
	taken[strings.ToLower(name)] = true
	return name
}
