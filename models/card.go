package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
)

// GiftCard is one physical or digital card, known by its claim-code HMAC or its serial.
type GiftCard struct {
	ID                  int64
	ClaimCodeHMAC       []byte `gorm:"column:claim_code_hmac"`
	ClaimCodeLast4      *string
	ClaimCodeHints      StringList
	Serial              *string
	Marketplace         string
	Currency            string
	FaceValueMinor      int64
	Status              string
	Frozen              bool
	FrozenReason        *string // why the card was frozen; nil when it is not
	FrozenByID          *int64  // the user who froze it
	FrozenAt            *time.Time
	RedeemedToAccountID *int64
	RedeemedAt          *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
	Version             int64
}

// CardByHMAC finds a card by its claim-code HMAC, locking it for the transaction.
func CardByHMAC(ctx context.Context, tx *gorm.DB, hmac []byte) (GiftCard, error) {
	var c GiftCard
	err := ForUpdate(tx.WithContext(ctx)).Where("claim_code_hmac = ?", hmac).Take(&c).Error
	return c, notFound(err)
}

// CardIDByHMAC finds the id of the card with a claim-code HMAC, without locking it.
func CardIDByHMAC(ctx context.Context, db *gorm.DB, hmac []byte) (int64, error) {
	var c GiftCard
	err := db.WithContext(ctx).Select("id").Where("claim_code_hmac = ?", hmac).Take(&c).Error
	return c.ID, notFound(err)
}

// CardBySerial finds a card by serial, locking it for the transaction.
func CardBySerial(ctx context.Context, tx *gorm.DB, serial string) (GiftCard, error) {
	var c GiftCard
	err := ForUpdate(tx.WithContext(ctx)).Where("serial = ?", serial).Take(&c).Error
	return c, notFound(err)
}

// InsertCard writes a new card.
func InsertCard(ctx context.Context, tx *gorm.DB, c *GiftCard) error {
	if c.Version == 0 {
		c.Version = 1
	}
	return tx.WithContext(ctx).Create(c).Error
}

// UpdateCard writes the given columns of a card and bumps its version.
func UpdateCard(ctx context.Context, tx *gorm.DB, id int64, changes map[string]any) error {
	changes["version"] = gorm.Expr("version + 1")
	return tx.WithContext(ctx).Model(&GiftCard{}).Where("id = ?", id).Updates(changes).Error
}

// LinkCard puts a card on a case, once.
func LinkCard(ctx context.Context, tx *gorm.DB, caseID, cardID int64, now time.Time) error {
	return tx.WithContext(ctx).Exec(`INSERT INTO case_cards (case_id, card_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		caseID, cardID, now).Error
}

// LinkCards puts cards on a case, each once, in one statement.
func LinkCards(ctx context.Context, tx *gorm.DB, caseID int64, cardIDs []int64, now time.Time) error {
	if len(cardIDs) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, 3*len(cardIDs))
	b.WriteString(`INSERT INTO case_cards (case_id, card_id, added_at) VALUES `)
	for i, id := range cardIDs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?)")
		args = append(args, caseID, id, now)
	}
	b.WriteString(` ON CONFLICT DO NOTHING`)
	return tx.WithContext(ctx).Exec(b.String(), args...).Error
}

// CasesOfCards returns the ids of the cases any of the cards is on, ascending, once each, in one
// statement.
func CasesOfCards(ctx context.Context, tx *gorm.DB, cardIDs []int64) ([]int64, error) {
	if len(cardIDs) == 0 {
		return nil, nil
	}
	var ids []int64
	in, arg := InIDs(tx, "card_id", cardIDs)
	err := tx.WithContext(ctx).Raw(`SELECT DISTINCT case_id FROM case_cards WHERE `+in+` ORDER BY case_id`, arg).Scan(&ids).Error
	return ids, err
}

// CasesOfCard returns the ids of the cases a card is on, but exceptCase.
func CasesOfCard(ctx context.Context, tx *gorm.DB, cardID, exceptCase int64) ([]int64, error) {
	var ids []int64
	err := tx.WithContext(ctx).Raw(`SELECT case_id FROM case_cards WHERE card_id = ? AND case_id <> ? ORDER BY case_id`, cardID, exceptCase).
		Scan(&ids).Error
	return ids, err
}

// CardsOfCase returns the cards on a case, in the order they were added.
func CardsOfCase(ctx context.Context, db *gorm.DB, caseID int64) ([]GiftCard, error) {
	var out []GiftCard
	err := db.WithContext(ctx).Raw(`SELECT g.* FROM gift_cards g JOIN case_cards cc ON cc.card_id = g.id
		WHERE cc.case_id = ? ORDER BY cc.added_at, g.id`, caseID).Scan(&out).Error
	return out, err
}

// CardsOfCases returns the cards on each of the given cases, in the order they were added, in one
// statement: the batch an export or a list loads instead of a query per case.
func CardsOfCases(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64][]GiftCard, error) {
	out := make(map[int64][]GiftCard, len(caseIDs))
	if len(caseIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		CaseID int64
		GiftCard
	}
	in, arg := InIDs(db, "cc.case_id", caseIDs)
	if err := db.WithContext(ctx).Raw(`SELECT cc.case_id, g.* FROM gift_cards g JOIN case_cards cc ON cc.card_id = g.id
		WHERE `+in+` ORDER BY cc.case_id, cc.added_at, g.id`, arg).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.CaseID] = append(out[r.CaseID], r.GiftCard)
	}
	return out, nil
}

// CardsSharingACase returns the card and every card on a case it is on: the codes R2 redacts in
// free text written about it.
func CardsSharingACase(ctx context.Context, db *gorm.DB, cardID int64) ([]GiftCard, error) {
	var out []GiftCard
	err := db.WithContext(ctx).Raw(`SELECT g.* FROM gift_cards g WHERE g.id = ? OR g.id IN (
		SELECT other.card_id FROM case_cards other JOIN case_cards mine ON mine.case_id = other.case_id WHERE mine.card_id = ?)
		ORDER BY g.id`, cardID, cardID).Scan(&out).Error
	return out, err
}

// CardByID finds a card.
func CardByID(ctx context.Context, db *gorm.DB, id int64) (GiftCard, error) {
	var c GiftCard
	err := db.WithContext(ctx).Where("id = ?", id).Take(&c).Error
	return c, notFound(err)
}

// CardByIDForUpdate finds and locks a card.
func CardByIDForUpdate(ctx context.Context, tx *gorm.DB, id int64) (GiftCard, error) {
	var c GiftCard
	err := ForUpdate(tx.WithContext(ctx)).Where("id = ?", id).Take(&c).Error
	return c, notFound(err)
}

// CaseRefsOfCard returns the refs of the cases a card is on.
func CaseRefsOfCard(ctx context.Context, db *gorm.DB, cardID int64) ([]string, error) {
	var refs []string
	err := db.WithContext(ctx).Raw(`SELECT c.ref FROM cases c JOIN case_cards cc ON cc.case_id = c.id WHERE cc.card_id = ? ORDER BY c.id`, cardID).
		Scan(&refs).Error
	return refs, err
}

// AppliedOnCard sums the applied, non-reversed transfers and credits on a card (R7).
func AppliedOnCard(ctx context.Context, db *gorm.DB, cardID int64) (int64, error) {
	var sum int64
	err := db.WithContext(ctx).Raw(`SELECT COALESCE(SUM(amount_minor), 0) FROM corrections
		WHERE card_id = ? AND `+cardMoneySQL+` AND status = `+sqlList(CorrectionApplied), cardID).Scan(&sum).Error
	return sum, err
}

// CorrectionCounts counts a case's corrections by status.
func CorrectionCounts(ctx context.Context, db *gorm.DB, caseID int64) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := db.WithContext(ctx).Raw(`SELECT status, count(*) AS n FROM corrections WHERE case_id = ? GROUP BY status`, caseID).Scan(&rows).Error
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, err
}

// CaseOfCard is a case a card is on: its ref and status.
type CaseOfCard struct {
	Ref    string
	Status string
}

// CasesWithCard returns the refs and statuses of the cases a card is on, oldest first.
func CasesWithCard(ctx context.Context, db *gorm.DB, cardID int64) ([]CaseOfCard, error) {
	var out []CaseOfCard
	err := db.WithContext(ctx).Raw(`SELECT c.ref, c.status FROM cases c JOIN case_cards cc ON cc.case_id = c.id WHERE cc.card_id = ? ORDER BY c.id`, cardID).
		Scan(&out).Error
	return out, err
}
