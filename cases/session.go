package cases

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"giftdesk/models"
)

// Session and sign-in policy (SPEC §4.5, §5).
const (
	SessionIdleTimeout     = 30 * time.Minute
	SessionAbsoluteTimeout = 12 * time.Hour
	// sessionTouchEvery spares a write per page view: the idle clock moves at most once a minute.
	sessionTouchEvery  = time.Minute
	LoginFailureLimit  = 10
	LoginFailureWindow = 15 * time.Minute
)

// ErrThrottled refuses a sign-in after too many failures (429).
var ErrThrottled = errors.New("too many failed sign-ins")

// ThrottledError says how long to wait before signing in again.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// ErrBadCredentials is the one answer to a failed sign-in, whether or not the email exists.
var ErrBadCredentials = &RuleError{Code: CodeUnauthenticated, Message: "the email or password is incorrect"}

// SignInInput is what the login form sends, with where it came from.
type SignInInput struct {
	Email, Password                string
	ClientIP, UserAgent, RequestID string
}

// SignedIn is a new console session. Token goes in the cookie and nowhere else.
type SignedIn struct {
	Token              string
	Principal          Principal
	MustChangePassword bool
}

// timingHash is verified against when the email is unknown, so that a wrong email and a wrong
// password cost the same argon2id work.
var timingHash = sync.OnceValue(func() string {
	h, err := HashPassword("giftdesk timing equaliser, never a password")
	if err != nil {
		panic(err)
	}
	return h
})

// throttleKey is what login_failures stores for an email: a keyed hash, because people type
// passwords into the email field and the rows live for 15 minutes.
func (d *Desk) throttleKey(email string) string {
	m := hmac.New(sha256.New, d.keys.Throttle)
	m.Write([]byte(email))
	return "h:" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cleanText drops what no text column takes: NUL bytes and invalid UTF-8.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}

// attempt is one password check counted against the throttle.
type attempt struct {
	key, ip string
	id      int64
}

// beginAttempt refuses a locked email or address, then records the attempt as a failure before the
// password is checked, so that concurrent guesses count each other: of any number sent at once, at
// most LoginFailureLimit get a password check in a window.
func (d *Desk) beginAttempt(ctx context.Context, a Actor, email string, now time.Time) (attempt, error) {
	at := attempt{key: d.throttleKey(email), ip: truncate(cleanText(a.IP), 64)}
	if err := d.checkThrottle(ctx, at.key, at.ip, now, LoginFailureLimit); err != nil {
		d.auditThrottled(ctx, a, at)
		return at, err
	}
	f := models.LoginFailure{Email: at.key, ClientIP: at.ip, FailedAt: now}
	if err := models.InsertLoginFailure(ctx, d.db, &f); err != nil {
		return at, storeErr(err)
	}
	at.id = f.ID
	if err := d.checkThrottle(ctx, at.key, at.ip, now, LoginFailureLimit+1); err != nil {
		// Lost the race to other attempts: this one is refused and does not count.
		_ = models.DeleteLoginFailure(ctx, d.db, at.id)
		d.auditThrottled(ctx, a, at)
		return at, err
	}
	return at, nil
}

// auditThrottled records a refused attempt, once a minute per email and address and per server:
// a client hammering a locked key must not fill the append-only trail at request rate.
func (d *Desk) auditThrottled(ctx context.Context, a Actor, at attempt) {
	if !d.throttleAudits.allow(at.key+"|"+at.ip, d.now()) {
		return
	}
	_ = d.inTx(ctx, func(tx *gorm.DB) error {
		return d.audit(ctx, tx, a, "login.throttled", "login", "throttle", nil, map[string]string{"client_ip": at.ip})
	})
}

// SignIn checks an email and password, throttled per email and per client address, and opens a
// session. Every failure is recorded and audited; the answer never says which part was wrong.
func (d *Desk) SignIn(ctx context.Context, in SignInInput) (SignedIn, error) {
	email := truncate(NormalizeEmail(cleanText(in.Email)), 254)
	actor := Actor{Kind: "user", IP: truncate(cleanText(in.ClientIP), 64), UserAgent: in.UserAgent, RequestID: in.RequestID}
	now := d.now()
	at, err := d.beginAttempt(ctx, actor, email, now)
	if err != nil {
		return SignedIn{}, err
	}
	var u models.User
	known := false
	if email != "" && email == NormalizeEmail(in.Email) {
		u, err = models.UserByEmail(ctx, d.db, email)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return SignedIn{}, storeErr(err)
		}
		known = err == nil
	}
	hash := timingHash()
	if known {
		hash = u.PasswordHash
	}
	ok := false
	if len(in.Password) <= MaxPasswordBytes {
		ok, _ = VerifyPassword(hash, in.Password)
	} else {
		_, _ = VerifyPassword(hash, "")
	}
	if !known || !ok || !u.Active {
		err := d.inTx(ctx, func(tx *gorm.DB) error {
			entity, reason := "login", "unknown email"
			var id any = "email"
			if known {
				entity, id, reason = "user", u.ID, "wrong password"
				if !u.Active {
					reason = "deactivated user"
				}
			}
			return d.audit(ctx, tx, actor, "login.failed", entity, id, nil, map[string]string{"reason": reason})
		})
		if err != nil {
			return SignedIn{}, err
		}
		return SignedIn{}, ErrBadCredentials
	}
	token, hashed, err := d.newSessionSecret()
	if err != nil {
		return SignedIn{}, err
	}
	p := Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Role: Role(u.Role), Preferences: preferencesOf(u)}
	actor.Principal = &p
	err = d.inTx(ctx, func(tx *gorm.DB) error {
		if err := models.DeleteLoginFailuresFor(ctx, tx, at.key); err != nil {
			return err
		}
		s := models.Session{IDHash: hashed, UserID: u.ID, CreatedAt: now, LastSeenAt: now, ClientIP: at.ip, UserAgent: truncate(in.UserAgent, 512)}
		if err := models.InsertSession(ctx, tx, &s); err != nil {
			return err
		}
		return d.audit(ctx, tx, actor, "login.succeeded", "user", u.ID, nil, nil)
	})
	if err != nil {
		return SignedIn{}, err
	}
	return SignedIn{Token: token, Principal: p, MustChangePassword: u.MustChangePassword}, nil
}

// checkThrottle refuses a key that has limit failures in the window.
func (d *Desk) checkThrottle(ctx context.Context, key, ip string, now time.Time, limit int) error {
	byEmail, byIP, err := models.RecentFailureTimes(ctx, d.db, key, ip, now.Add(-LoginFailureWindow), 4*LoginFailureLimit)
	if err != nil {
		return storeErr(err)
	}
	// A key is locked while it has limit failures in the window; the lock lifts when enough of
	// them have aged out to leave fewer.
	var wait time.Duration
	for _, times := range [][]time.Time{byEmail, byIP} {
		if len(times) < limit {
			continue
		}
		release := times[len(times)-limit].Add(LoginFailureWindow)
		if w := release.Sub(now); w > wait {
			wait = w
		}
	}
	if wait <= 0 {
		return nil
	}
	if wait < time.Second {
		wait = time.Second
	}
	return &ThrottledError{RetryAfter: wait}
}

// onceEvery lets a key through at most once per period (per process), with bounded memory.
type onceEvery struct {
	period time.Duration
	mu     sync.Mutex
	last   map[string]time.Time
}

func (o *onceEvery) allow(key string, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == nil || len(o.last) > 10000 {
		o.last = map[string]time.Time{}
	}
	if t, ok := o.last[key]; ok && now.Sub(t) < o.period {
		return false
	}
	o.last[key] = now
	return true
}

func (d *Desk) newSessionSecret() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	return token, d.sessionHash(token), nil
}

func (d *Desk) sessionHash(token string) []byte {
	m := hmac.New(sha256.New, d.keys.Session)
	m.Write([]byte(token))
	return m.Sum(nil)
}

// ConsoleSession is a valid session: who it is, and whether they must choose a password first.
type ConsoleSession struct {
	Principal          Principal
	MustChangePassword bool
}

var errNoSession = &RuleError{Code: CodeUnauthenticated, Message: "not signed in, or the session has expired"}

// Session resolves a session cookie. A session idle for 30 minutes, older than 12 hours, or of a
// deactivated user is ended and refused.
func (d *Desk) Session(ctx context.Context, token string) (ConsoleSession, error) {
	if token == "" || len(token) > 100 {
		return ConsoleSession{}, errNoSession
	}
	hash := d.sessionHash(token)
	s, u, err := models.SessionByHash(ctx, d.db, hash)
	if errors.Is(err, models.ErrNotFound) {
		return ConsoleSession{}, errNoSession
	}
	if err != nil {
		return ConsoleSession{}, storeErr(err)
	}
	now := d.now()
	if !u.Active || now.Sub(s.LastSeenAt) >= SessionIdleTimeout || now.Sub(s.CreatedAt) >= SessionAbsoluteTimeout {
		_ = models.DeleteSession(ctx, d.db, hash)
		return ConsoleSession{}, errNoSession
	}
	if now.Sub(s.LastSeenAt) >= sessionTouchEvery {
		if err := models.TouchSession(ctx, d.db, hash, now); err != nil {
			return ConsoleSession{}, storeErr(err)
		}
	}
	return ConsoleSession{Principal: Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Role: Role(u.Role), Preferences: preferencesOf(u)},
		MustChangePassword: u.MustChangePassword}, nil
}

// SignOut ends the session of token.
func (d *Desk) SignOut(ctx context.Context, a Actor, token string) error {
	return d.inTx(ctx, func(tx *gorm.DB) error {
		if err := models.DeleteSession(ctx, tx, d.sessionHash(token)); err != nil {
			return err
		}
		if a.Principal == nil {
			return nil
		}
		return d.audit(ctx, tx, a, "logout", "user", a.Principal.UserID, nil, nil)
	})
}

// ChangePassword lets a signed-in user replace their password. Their other sessions end; the
// one they use stays.
func (d *Desk) ChangePassword(ctx context.Context, a Actor, sessionToken, current, next string) error {
	if a.Principal == nil {
		return errNoSession
	}
	u, err := models.UserByID(ctx, d.db, a.Principal.UserID)
	if err != nil {
		return storeErr(err)
	}
	// Guessing the current password from a stolen session is throttled like signing in.
	at, err := d.beginAttempt(ctx, a, u.Email, d.now())
	if err != nil {
		return err
	}
	if ok, _ := VerifyPassword(u.PasswordHash, current); !ok || len(current) > MaxPasswordBytes {
		_ = d.inTx(ctx, func(tx *gorm.DB) error {
			return d.audit(ctx, tx, a, "user.password_change_failed", "user", u.ID, nil, map[string]string{"reason": "wrong current password"})
		})
		return Invalid("current_password", "is not your current password")
	}
	if err := models.DeleteLoginFailure(ctx, d.db, at.id); err != nil {
		return storeErr(err)
	}
	if err := CheckPasswordPolicy(next); err != nil {
		return Invalid("new_password", err.(*RuleError).Message)
	}
	if next == current {
		return Invalid("new_password", "must differ from the current password")
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	return d.inTx(ctx, func(tx *gorm.DB) error {
		if err := models.UpdateUser(ctx, tx, u.ID, map[string]any{"password_hash": hash, "must_change_password": false, "updated_at": d.now()}); err != nil {
			return err
		}
		if err := models.DeleteUserSessions(ctx, tx, u.ID, d.sessionHash(sessionToken)); err != nil {
			return err
		}
		return d.audit(ctx, tx, a, "user.password_changed", "user", u.ID, nil, nil)
	})
}

// Housekeep deletes sessions past their timeouts and login failures too old to count. Servers
// run it now and then; any number may run it at once.
func (d *Desk) Housekeep(ctx context.Context) error {
	now := d.now()
	if err := models.DeleteSessionsIdleSince(ctx, d.db, now.Add(-SessionIdleTimeout), now.Add(-SessionAbsoluteTimeout)); err != nil {
		return storeErr(err)
	}
	if err := models.DeleteLoginFailuresBefore(ctx, d.db, now.Add(-LoginFailureWindow)); err != nil {
		return storeErr(err)
	}
	return storeErr(models.PurgeIdempotencyKeys(ctx, d.db, now.Add(-IdempotencyWindow)))
}
