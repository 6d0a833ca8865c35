package models

import (
	"context"
	"io"
	"time"

	"gorm.io/gorm"
)

// EvidenceChunkSize is the size of the chunks evidence bytes are stored in: a file is never held
// whole in memory, on the way in or out.
const EvidenceChunkSize = 256 << 10

// EvidenceFile is the content of an uploaded file, stored once per sha256.
type EvidenceFile struct {
	ID          int64
	SHA256      string `gorm:"column:sha256"`
	Size        int64
	ContentType string
	CreatedAt   time.Time
}

// Evidence is one upload on a case.
type Evidence struct {
	ID               int64
	CaseID           int64
	FileID           int64
	Kind             string
	FileName         string
	UploadedByID     int64
	UploadedAt       time.Time
	StoreName        *string
	StoreLocation    *string
	PurchasedAt      *string
	AmountMinor      *int64
	Currency         *string
	CardLast4        *string `gorm:"column:card_last4"`
	PosTransactionID *string
	Note             string
	Verification     string
	VerifiedByID     *int64
	VerifiedAt       *time.Time
	VerificationNote *string
	Flags            StringList
}

// TableName names the table.
func (Evidence) TableName() string { return "evidence" }

// StoreEvidenceFile writes r (of size bytes) as the file with this sha256 unless it is stored
// already, reading and writing one chunk at a time, and returns the file's id.
func StoreEvidenceFile(ctx context.Context, tx *gorm.DB, sha string, size int64, contentType string, r io.Reader, now time.Time) (int64, error) {
	f := EvidenceFile{SHA256: sha, Size: size, ContentType: contentType, CreatedAt: now}
	inserted, err := InsertIgnoringConflict(ctx, tx, &f, "sha256")
	if err != nil {
		return 0, err
	}
	if !inserted {
		var id int64
		err := tx.WithContext(ctx).Raw(`SELECT id FROM evidence_files WHERE sha256 = ?`, sha).Scan(&id).Error
		return id, err
	}
	buf := make([]byte, EvidenceChunkSize)
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if err := tx.WithContext(ctx).Exec(`INSERT INTO evidence_file_chunks (file_id, seq, data) VALUES (?, ?, ?)`, f.ID, seq, buf[:n]).Error; err != nil {
				return 0, err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return f.ID, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// InsertEvidence writes an upload's row.
func InsertEvidence(ctx context.Context, tx *gorm.DB, e *Evidence) error {
	return tx.WithContext(ctx).Create(e).Error
}

// EvidenceByID finds an upload and its file.
func EvidenceByID(ctx context.Context, db *gorm.DB, id int64) (Evidence, EvidenceFile, error) {
	var e Evidence
	if err := db.WithContext(ctx).Where("id = ?", id).Take(&e).Error; err != nil {
		return e, EvidenceFile{}, notFound(err)
	}
	var f EvidenceFile
	err := db.WithContext(ctx).Where("id = ?", e.FileID).Take(&f).Error
	return e, f, notFound(err)
}

// EvidenceByIDForUpdate finds and locks an upload.
func EvidenceByIDForUpdate(ctx context.Context, tx *gorm.DB, id int64) (Evidence, error) {
	var e Evidence
	err := ForUpdate(tx.WithContext(ctx)).Where("id = ?", id).Take(&e).Error
	return e, notFound(err)
}

// UpdateEvidence writes the given columns of an upload.
func UpdateEvidence(ctx context.Context, tx *gorm.DB, id int64, changes map[string]any) error {
	return tx.WithContext(ctx).Model(&Evidence{}).Where("id = ?", id).Updates(changes).Error
}

// CasesWithEvidence returns the ids of other cases holding the same file or POS transaction.
func CasesWithEvidence(ctx context.Context, tx *gorm.DB, fileID int64, pos *string, exceptCase int64) (byFile, byPOS []int64, err error) {
	if err = tx.WithContext(ctx).Raw(`SELECT DISTINCT case_id FROM evidence WHERE file_id = ? AND case_id <> ? ORDER BY case_id`, fileID, exceptCase).
		Scan(&byFile).Error; err != nil || pos == nil {
		return
	}
	err = tx.WithContext(ctx).Raw(`SELECT DISTINCT case_id FROM evidence WHERE pos_transaction_id = ? AND case_id <> ? ORDER BY case_id`, *pos, exceptCase).
		Scan(&byPOS).Error
	return
}

// EvidenceChunk reads chunk seq of a file.
func EvidenceChunk(ctx context.Context, db *gorm.DB, fileID int64, seq int) ([]byte, error) {
	var data []byte
	err := db.WithContext(ctx).Raw(`SELECT data FROM evidence_file_chunks WHERE file_id = ? AND seq = ?`, fileID, seq).Row().Scan(&data)
	return data, err
}

// FlagEvidenceOnOtherCases adds flag to the evidence of other cases holding the same file or POS
// transaction, so that the earlier upload says what the later one found.
func FlagEvidenceOnOtherCases(ctx context.Context, tx *gorm.DB, fileID int64, pos *string, exceptCase int64, flag string) error {
	q := tx.WithContext(ctx).Where("case_id <> ?", exceptCase)
	if pos != nil {
		q = q.Where("file_id = ? OR pos_transaction_id = ?", fileID, *pos)
	} else {
		q = q.Where("file_id = ?", fileID)
	}
	var rows []Evidence
	if err := q.Find(&rows).Error; err != nil {
		return err
	}
	for _, e := range rows {
		if containsString(e.Flags, flag) {
			continue
		}
		if err := UpdateEvidence(ctx, tx, e.ID, map[string]any{"flags": append(StringList{}, append(e.Flags, flag)...)}); err != nil {
			return err
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EvidenceOfCase returns up to limit uploads of a case, oldest first, after id afterID (0: from
// the first).
func EvidenceOfCase(ctx context.Context, db *gorm.DB, caseID, afterID int64, limit int) ([]Evidence, error) {
	q := db.WithContext(ctx).Where("case_id = ?", caseID)
	if afterID > 0 {
		q = q.Where("id > ?", afterID)
	}
	var out []Evidence
	err := q.Order("id").Limit(limit).Find(&out).Error
	return out, err
}

// EvidenceRow finds one upload's row.
func EvidenceRow(ctx context.Context, db *gorm.DB, id int64) (Evidence, error) {
	var e Evidence
	err := db.WithContext(ctx).Where("id = ?", id).Take(&e).Error
	return e, notFound(err)
}

// EvidenceFilesByID returns the files with the given ids, by id, in one statement.
func EvidenceFilesByID(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]EvidenceFile, error) {
	out := make(map[int64]EvidenceFile, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var list []EvidenceFile
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&list).Error; err != nil {
		return nil, err
	}
	for _, f := range list {
		out[f.ID] = f
	}
	return out, nil
}

// EvidenceDuplicates returns, for each of the given uploads, the refs of the other cases holding
// the same file or the same POS transaction, sorted, in one statement (R3).
func EvidenceDuplicates(ctx context.Context, db *gorm.DB, evidenceIDs []int64) (map[int64][]string, error) {
	out := make(map[int64][]string, len(evidenceIDs))
	if len(evidenceIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		EvidenceID int64
		Ref        string
	}
	err := db.WithContext(ctx).Raw(`SELECT e.id AS evidence_id, c.ref AS ref FROM evidence e
			JOIN evidence o ON o.file_id = e.file_id AND o.case_id <> e.case_id
			JOIN cases c ON c.id = o.case_id
			WHERE e.id IN ?
		UNION
		SELECT e.id AS evidence_id, c.ref AS ref FROM evidence e
			JOIN evidence o ON o.pos_transaction_id = e.pos_transaction_id AND o.case_id <> e.case_id
			JOIN cases c ON c.id = o.case_id
			WHERE e.id IN ?
		ORDER BY evidence_id, ref`, evidenceIDs, evidenceIDs).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.EvidenceID] = append(out[r.EvidenceID], r.Ref)
	}
	return out, nil
}
