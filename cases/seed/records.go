package seed

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"giftdesk/cases"
)

// communications writes the case's contacts: the customer's first contact, our answer (the first
// response), calls to the card issuer with its representative and reference, internal notes, and
// now and then an amended entry.
func (g *generator) communications(p *plan, agent person, t []time.Time) {
	n := 1 + g.f.IntN(4)
	if p.status == "new" {
		n = g.f.IntN(2)
	}
	at := g.steps(p, n)
	customerName := g.f.FirstName() + " " + g.f.LastName()
	for i, when := range at {
		channel, direction := pick(g, channelWeights), "inbound"
		switch {
		case channel == "internal_note":
			direction = "internal"
		case i == 0:
			direction = "inbound"
		case i == 1 && p.status != "new":
			direction = "outbound"
		case g.f.IntN(2) == 0:
			direction = "outbound"
		}
		if i == 0 && channel == "internal_note" {
			channel, direction = "email", "inbound"
		}
		if i == 0 {
			when = p.created.Add(time.Duration(g.f.IntN(600)) * time.Second)
			if when.After(p.last) {
				when = p.created
			}
		}
		if direction == "outbound" && p.firstResponded == nil {
			w := when
			p.firstResponded = &w
			p.version++
		}
		counterpart, rep, reference := customerName, agent.name, ""
		var duration any
		body := ""
		switch channel {
		case "phone":
			duration = int64(60 + g.f.IntN(1500))
			if g.f.IntN(3) == 0 {
				counterpart = "Card issuer support"
				rep = g.f.FirstName() + " (badge " + strconv.Itoa(1000+g.f.IntN(9000)) + ")"
				reference = "ISS-" + strconv.Itoa(100000+g.f.IntN(900000))
				body = "Called the issuer about the card; they opened a trace."
			} else {
				body = "Spoke with the customer about the case; explained the next steps."
			}
		case "email":
			reference = "MSG-" + strconv.FormatInt(p.number, 10) + "-" + strconv.Itoa(i)
			body = "Customer wrote: " + oneOf(g, summaries[p.typ]) + "."
		case "chat":
			duration = int64(120 + g.f.IntN(1200))
			reference = "CHAT-" + strconv.Itoa(g.f.IntN(10000000))
			body = "Chat transcript summary: customer asked for an update."
		case "in_person":
			body = "Customer came to the store at " + g.f.City() + " with the card and receipt."
		case "internal_note":
			counterpart, rep = "", ""
			body = "Checked the redemption log; waiting on the issuer's trace."
		}
		if direction == "internal" {
			counterpart = ""
		}
		id := g.id("communications")
		recorded := when.Add(time.Duration(30+g.f.IntN(600)) * time.Second)
		if recorded.After(g.now.Add(-time.Minute)) {
			recorded = when
		}
		g.row("communications", id, p.id, channel, direction, when, counterpart, rep, reference, duration, body, nil, agent.id, recorded)
		g.event(recorded, agent, "communication.created", "case", p.ref, nil, map[string]any{"id": strconv.FormatInt(id, 10),
			"channel": channel, "direction": direction, "occurred_at": when.Format(time.RFC3339Nano)})
		if g.f.IntN(100) < 3 {
			amend := g.id("communications")
			later := recorded.Add(time.Duration(1+g.f.IntN(60)) * time.Second)
			if later.After(g.now.Add(-time.Minute)) {
				later = recorded
			}
			g.row("communications", amend, p.id, channel, direction, when, counterpart, rep, reference, duration,
				"Amended: "+body+" (reference corrected)", id, agent.id, later)
			g.event(later, agent, "communication.created", "case", p.ref, nil, map[string]any{"id": strconv.FormatInt(amend, 10),
				"channel": channel, "direction": direction, "occurred_at": when.Format(time.RFC3339Nano), "supersedes": strconv.FormatInt(id, 10)})
		}
	}
}

// evidence writes the uploads a case type usually has, each with a small real file of its own.
// A receipt backing an unactivated card's credit is verified by another agent (R6).
func (g *generator) evidence(p *plan, agent person, at, verifyAt time.Time) {
	var kinds []string
	switch p.typ {
	case "unactivated_card":
		if p.correction != "" || g.f.IntN(10) < 7 {
			kinds = append(kinds, "receipt")
		}
		if g.f.IntN(10) < 3 {
			kinds = append(kinds, "activation_slip")
		}
	case "code_problem":
		if g.f.IntN(10) < 6 {
			kinds = append(kinds, "card_photo")
		}
	case "wrong_account", "scam_victim", "promo_credit":
		if g.f.IntN(10) < 3 {
			kinds = append(kinds, "screenshot")
		}
	}
	if p.status == "new" && p.correction == "" {
		kinds = nil
	}
	for i, kind := range kinds {
		fileID, id := g.id("evidence_files"), g.id("evidence")
		label := "giftdesk seed evidence " + strconv.FormatInt(id, 10)
		var data []byte
		contentType, name := "image/png", kind+".png"
		if kind == "receipt" || kind == "activation_slip" {
			data, contentType, name = tinyPDF(label), "application/pdf", kind+".pdf"
		} else {
			data = tinyPNG(label)
		}
		sum := sha256.Sum256(data)
		g.row("evidence_files", fileID, hex.EncodeToString(sum[:]), int64(len(data)), contentType, at)
		g.row("evidence_file_chunks", fileID, 0, data)
		var store, location, purchased, amount, currency, last4, pos any
		flags := []string{}
		if kind == "receipt" && len(p.cards) > 0 {
			c := p.cards[0]
			store, location = g.f.Company()+" #"+strconv.Itoa(100+g.f.IntN(900)), g.f.City()
			purchased = p.created.Add(-time.Duration(24+g.f.IntN(24*30)) * time.Hour).Format("2006-01-02")
			amount, currency = c.face, c.currency
			switch {
			case c.last4 != nil:
				last4 = *c.last4
			case c.serial != nil:
				last4 = (*c.serial)[len(*c.serial)-4:]
			}
			if g.f.IntN(50) == 0 {
				last4 = "0000"
				flags = append(flags, cases.FlagCardLast4Unmatched)
			}
			pos = "POS-" + strconv.FormatInt(p.number, 10) + "-" + strconv.Itoa(i)
		}
		verification := "unverified"
		var verifier, verifiedAt, note any
		needed := kind == "receipt" && p.correction != ""
		if needed || g.f.IntN(10) < 6 {
			verification = "verified"
			if !needed && g.f.IntN(6) == 0 {
				verification = "rejected"
			}
			v := g.otherAgent(agent)
			verifier, verifiedAt = v.id, verifyAt
			note = map[string]string{"verified": "Matches the card and the customer's account.", "rejected": "Blurred; asked the customer for a new photo."}[verification]
			defer g.event(verifyAt, v, "evidence."+verification, "evidence", strconv.FormatInt(id, 10),
				map[string]any{"verification": "unverified"}, map[string]any{"verification": verification, "note": note})
		}
		flagJSON, _ := json.Marshal(flags)
		g.row("evidence", id, p.id, fileID, kind, name, agent.id, at, store, location, purchased, amount, currency, last4, pos,
			"", verification, verifier, verifiedAt, note, string(flagJSON))
		g.event(at, agent, "evidence.added", "case", p.ref, nil, map[string]any{"id": strconv.FormatInt(id, 10), "kind": kind,
			"sha256": hex.EncodeToString(sum[:]), "size": int64(len(data)), "content_type": contentType})
	}
}

func (g *generator) otherAgent(not person) person {
	for {
		if a := oneOf(g, g.staff.agents); a.id != not.id {
			return a
		}
	}
}
