package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"giftdesk/cases"
)

// config is SPEC 4.1's environment, typed and validated.
type config struct {
	DatabaseURL         string
	Addr                string
	DataDir             string
	secretKeyEnv        string // GIFTDESK_SECRET_KEY as given; parsed by masterKey
	DualApproval        cases.Thresholds
	APIRate             float64
	WebhookAllowPrivate bool
	TrustedProxies      []string
	SLA                 cases.SLATargets
}

// configError names the variable at fault, for one line on standard error.
type configError struct {
	name, msg string
}

func (e *configError) Error() string { return e.name + ": " + e.msg }

// loadConfig reads and checks every variable; getenv is os.Getenv outside tests.
func loadConfig(getenv func(string) string) (*config, error) {
	c := &config{
		DatabaseURL:  strings.TrimSpace(getenv("GIFTDESK_DATABASE_URL")),
		Addr:         strings.TrimSpace(getenv("GIFTDESK_ADDR")),
		DataDir:      strings.TrimSpace(getenv("GIFTDESK_DATA_DIR")),
		secretKeyEnv: getenv("GIFTDESK_SECRET_KEY"),
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(c.DataDir, "giftdesk.db")
	}
	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		return nil, &configError{"GIFTDESK_DATABASE_URL", err.Error()}
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if err := checkAddr(c.Addr); err != nil {
		return nil, &configError{"GIFTDESK_ADDR", err.Error()}
	}
	if c.secretKeyEnv != "" {
		if _, err := cases.ParseMasterKey(c.secretKeyEnv); err != nil {
			return nil, &configError{"GIFTDESK_SECRET_KEY", err.Error()}
		}
	}
	t, err := cases.ParseThresholds(getenv("GIFTDESK_DUAL_APPROVAL"))
	if err != nil {
		return nil, &configError{"GIFTDESK_DUAL_APPROVAL", err.Error()}
	}
	c.DualApproval = t
	if c.SLA, err = cases.ParseSLATargets(getenv("GIFTDESK_SLA")); err != nil {
		return nil, &configError{"GIFTDESK_SLA", err.Error()}
	}
	c.APIRate = 50
	if raw := strings.TrimSpace(getenv("GIFTDESK_API_RATE")); raw != "" {
		r, err := strconv.ParseFloat(raw, 64)
		if err != nil || r < 0 || r > 1e6 || r != r {
			return nil, &configError{"GIFTDESK_API_RATE", "must be a number of requests per second, 0 to turn the limit off"}
		}
		c.APIRate = r
	}
	switch strings.ToLower(strings.TrimSpace(getenv("GIFTDESK_WEBHOOK_ALLOW_PRIVATE"))) {
	case "", "0", "false", "no":
	case "1", "true", "yes":
		c.WebhookAllowPrivate = true
	default:
		return nil, &configError{"GIFTDESK_WEBHOOK_ALLOW_PRIVATE", "must be 1 or 0"}
	}
	for _, p := range strings.Split(getenv("GIFTDESK_TRUSTED_PROXIES"), ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return nil, &configError{"GIFTDESK_TRUSTED_PROXIES", fmt.Sprintf("%q is not an IP address or CIDR range", p)}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	return c, nil
}

func checkDatabaseURL(u string) error {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return nil // the driver parses the rest and says what is wrong with it
	case strings.HasPrefix(u, "sqlite:"):
		if strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//") == "" {
			return errors.New("sqlite: needs a file path, e.g. sqlite:data/giftdesk.db")
		}
		return nil
	}
	return errors.New("must be a postgres:// URL or sqlite:PATH")
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be HOST:PORT, e.g. 127.0.0.1:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	return nil
}

// masterKey returns GIFTDESK_SECRET_KEY, or the key in $GIFTDESK_DATA_DIR/secret.key, creating
// that file (mode 0600) on first use.
func (c *config) masterKey() ([]byte, error) {
	if c.secretKeyEnv != "" {
		return cases.ParseMasterKey(c.secretKeyEnv)
	}
	path := filepath.Join(c.DataDir, "secret.key")
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("GIFTDESK_DATA_DIR: %s is readable by other users (mode %04o): run chmod 600 on it", path, st.Mode().Perm())
	}
	if b, err := os.ReadFile(path); err == nil {
		k, perr := cases.ParseMasterKey(string(b))
		if perr != nil {
			return nil, fmt.Errorf("GIFTDESK_DATA_DIR: %s: %v", path, perr)
		}
		return k, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("GIFTDESK_DATA_DIR: cannot read %s: %v", path, unwrapPathError(err))
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("GIFTDESK_DATA_DIR: cannot create %s: %v", c.DataDir, unwrapPathError(err))
	}
	return createKeyFile(path)
}

// createKeyFile writes a new random key to a temporary file and links it into place, so that two
// processes starting at once agree on one key and neither reads a half-written file.
func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := randRead(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret.key-*")
	if err != nil {
		return nil, fmt.Errorf("GIFTDESK_DATA_DIR: cannot write in %s: %v", filepath.Dir(path), unwrapPathError(err))
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := fmt.Fprintf(tmp, "%x\n", key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			b, rerr := os.ReadFile(path)
			if rerr != nil {
				return nil, rerr
			}
			return cases.ParseMasterKey(string(b))
		}
		return nil, fmt.Errorf("create %s: %v", path, unwrapPathError(err))
	}
	return key, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
