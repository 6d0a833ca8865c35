package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"giftdesk/models"
)

// cmdBackup serves `giftdesk backup --to FILE`: a consistent copy of the database, taken while the
// desk serves. SQLite: VACUUM INTO. PostgreSQL: pg_dump's custom format (restored with
// pg_restore). The master key is never written into the backup: the operator keeps it apart.
func cmdBackup(ctx context.Context, args []string, e *env) error {
	fset := flag.NewFlagSet("backup", flag.ContinueOnError)
	to := fset.String("to", "", "the file to write; a backup never overwrites one")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if strings.TrimSpace(*to) == "" {
		return &usageError{"backup: --to FILE is required"}
	}
	target, err := filepath.Abs(*to)
	if err != nil {
		return fmt.Errorf("backup: --to: %v", err)
	}
	if _, err := os.Lstat(target); err == nil {
		return fmt.Errorf("backup: %s already exists: a backup never overwrites a file, choose a new name", target)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %s: %v", target, unwrapPathError(err))
	}
	if st, err := os.Stat(filepath.Dir(target)); err != nil || !st.IsDir() {
		return fmt.Errorf("backup: %s is not a folder", filepath.Dir(target))
	}
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return err
	}
	if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite:"); ok {
		// models.Open would create a missing file: a backup of nothing must not look like one.
		if _, err := os.Stat(strings.TrimPrefix(path, "//")); err != nil {
			return fmt.Errorf("GIFTDESK_DATABASE_URL: no SQLite database at %s", strings.TrimPrefix(path, "//"))
		}
	}
	db, err := models.Open(ctx, models.Options{URL: cfg.DatabaseURL, Logger: newLogger(e.stderr, slog.LevelWarn)})
	if err != nil {
		return fmt.Errorf("GIFTDESK_DATABASE_URL: %v", err)
	}
	defer models.Close(db)
	fingerprint, err := models.MasterKeyFingerprint(ctx, db)
	if err != nil {
		return fmt.Errorf("backup: the database holds no desk yet (run 'giftdesk migrate' or 'giftdesk serve' first): %v", err)
	}
	kind := "SQLite copy"
	epoch := int64(0)
	if models.DialectOf(db) == models.SQLite {
		err = backupSQLite(ctx, db, target)
	} else {
		kind = "pg_dump custom-format archive"
		if epoch, err = models.RestoreEpoch(ctx, db); err != nil {
			return fmt.Errorf("backup: %v", err)
		}
		err = backupPostgres(ctx, e, cfg.DatabaseURL, target)
	}
	if err != nil {
		return err
	}
	keyAt := "GIFTDESK_SECRET_KEY"
	if cfg.secretKeyEnv == "" {
		keyAt = filepath.Join(cfg.DataDir, "secret.key")
	}
	size := int64(0)
	if st, err := os.Stat(target); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(e.stderr, "giftdesk: backup written to %s (%s, %d bytes)\n", target, kind, size)
	fmt.Fprintf(e.stderr, "giftdesk: the backup does not hold the master key (%s, fingerprint %s): keep a copy of it "+
		"with the backup, stored separately; a restored desk refuses to start without that key\n", keyAt, fingerprint)
	if epoch > 0 {
		fmt.Fprintf(e.stderr, "giftdesk: to restore into a new PostgreSQL cluster, run pg_resetwal --epoch=%d on it after initdb, "+
			"before its first start (README: Backups and restore)\n", epoch)
	}
	return nil
}

// backupSQLite runs VACUUM INTO a private temporary file beside target, syncs it and links it
// into place: target appears complete or not at all, and an existing file is never replaced.
func backupSQLite(ctx context.Context, db *gorm.DB, target string) error {
	tmp := partialName(target)
	defer os.Remove(tmp)
	// Created private first: VACUUM INTO takes an empty file and keeps its mode (else 0644).
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %v", unwrapPathError(err))
	}
	f.Close()
	if err := models.BackupSQLite(ctx, db, tmp); err != nil {
		return fmt.Errorf("backup: VACUUM INTO failed: %v", err)
	}
	return publish(tmp, target)
}

// backupPostgres runs pg_dump (custom format) into a private temporary file beside target and
// links it into place. The password goes to pg_dump in PGPASSWORD, never on its command line or in
// what is printed. Without pg_dump it prints the command to run and fails.
func backupPostgres(ctx context.Context, e *env, databaseURL, target string) error {
	conn, password, err := pgDumpConnection(databaseURL)
	if err != nil {
		return fmt.Errorf("GIFTDESK_DATABASE_URL: %v", err)
	}
	pgDump := findPgDump()
	if pgDump == "" {
		fmt.Fprintf(e.stdout, "pg_dump --format=custom --file=%s --dbname=%s\n", shellQuote(target), shellQuote(conn))
		return errors.New("backup: pg_dump is not installed here (PATH, /usr/lib/postgresql/*/bin): run the command printed above " +
			"where it is, with the password in PGPASSWORD or ~/.pgpass")
	}
	tmp := partialName(target)
	defer os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %v", unwrapPathError(err))
	}
	f.Close()
	cmd := exec.CommandContext(ctx, pgDump, "--format=custom", "--file="+tmp, "--dbname="+conn)
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if password != "" {
			msg = strings.ReplaceAll(msg, password, "****")
		}
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("backup: %s failed: %s", pgDump, msg)
	}
	return publish(tmp, target)
}

// pgDumpConnection is the database URL as libpq takes it: without its password (returned apart),
// and without the pgx pool settings libpq does not know.
func pgDumpConnection(raw string) (conn, password string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", errors.New("not a valid URL")
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			password = p
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	if p := q.Get("password"); p != "" {
		password = p
	}
	q.Del("password")
	for name := range q {
		if strings.HasPrefix(name, "pool_") {
			q.Del(name)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), password, nil
}

// findPgDump returns pg_dump's path: on PATH, else the newest of the versioned PostgreSQL folders
// (where Debian puts it); "" when there is none. A variable, so that tests can hide it.
var findPgDump = func() string {
	if p, err := exec.LookPath("pg_dump"); err == nil {
		return p
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	sort.Slice(found, func(i, j int) bool { return pgVersionOf(found[i]) > pgVersionOf(found[j]) })
	if len(found) == 0 {
		return ""
	}
	return found[0]
}

// pgVersionOf reads the major version from /usr/lib/postgresql/<version>/bin/…, so that 16 sorts after 9.6.
func pgVersionOf(path string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(path))), 64)
	return v
}

// partialName is a temporary name beside target that no backup run shares.
func partialName(target string) string {
	b := make([]byte, 6)
	_, _ = randRead(b)
	return fmt.Sprintf("%s.partial-%x", target, b)
}

// publish syncs tmp and links it to target, refusing to replace a file that appeared meanwhile.
func publish(tmp, target string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("backup: %v", unwrapPathError(err))
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("backup: sync: %v", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %v", err)
	}
	if err := os.Link(tmp, target); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("backup: %s already exists: a backup never overwrites a file, choose a new name", target)
		}
		return fmt.Errorf("backup: %v", unwrapPathError(err))
	}
	if d, err := os.Open(filepath.Dir(target)); err == nil {
		_ = d.Sync() // the new name survives a crash
		d.Close()
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
