package llmhttp

import (
	"errors"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// MaxTimeoutSeconds caps a timeout attribute: a day is far beyond any
// answer, and a bigger number is more likely a unit mix-up.
const MaxTimeoutSeconds = 24 * 60 * 60

// CheckBaseURL checks a server URL attribute for a config's Validate
// method: http or https, with a host, and no user info (credentials belong
// in api_key, where they are kept out of logs), query or fragment. The
// error is an *sdk.ConfigError naming attr.
func CheckBaseURL(attr, raw string) error {
	fail := func(format string, args ...any) error {
		return sdk.AttributeError([]string{attr}, format, args...)
	}
	if raw == "" {
		return fail("must not be empty")
	}
	if !strings.Contains(raw, "://") {
		return fail("must start with http:// or https://, got %s", shown(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL itself may hold a password: do not quote it
		}
		return fail("is not a valid URL: %v", err)
	}
	switch {
	case u.User != nil:
		return fail("must not contain a user name or password; put the key in api_key or api_key_file")
	case u.Scheme != "http" && u.Scheme != "https":
		return fail("must start with http:// or https://, got %s", shown(raw))
	case u.Hostname() == "":
		return fail("must name a host, as in http://127.0.0.1:8080, got %s", shown(raw))
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fail("must not have a query or fragment, got %s", shown(raw))
	}
	return nil
}

// shown quotes a URL for a message, unless it may hold a password.
func shown(raw string) string {
	if strings.Contains(raw, "@") {
		return "a URL with user info (not shown)"
	}
	return strconv.Quote(raw)
}

// CheckTimeout checks a timeout attribute in seconds for a config's
// Validate method: 0 (no timeout) up to MaxTimeoutSeconds; fractions are
// allowed. The error is an *sdk.ConfigError naming attr.
func CheckTimeout(attr string, seconds float64) error {
	if math.IsNaN(seconds) || seconds < 0 || seconds > MaxTimeoutSeconds {
		return sdk.AttributeError([]string{attr}, "must be between 0 (no timeout) and %d seconds, got %v", MaxTimeoutSeconds, seconds)
	}
	return nil
}

// The attributes every HTTP LLM plugin's config has, besides its server's
// URL (CheckBaseURL) and its key (CheckKeyConfig).
const (
	AttrModel       = "model"
	AttrTimeout     = "timeout_seconds"
	AttrIdleTimeout = "idle_timeout_seconds"
)

// CheckModel checks the model attribute (AttrModel) for a config's
// Validate method: it must name a model, like example. The error is an
// *sdk.ConfigError.
func CheckModel(model, example string) error {
	if strings.TrimSpace(model) == "" {
		return sdk.AttributeError([]string{AttrModel}, "must name a model, such as %q", example)
	}
	return nil
}

// CheckTimeouts checks the timeout attributes AttrTimeout (the wait for
// the start of an answer, Options.FirstByteTimeout) and AttrIdleTimeout
// (the wait between its pieces, Options.IdleTimeout) with CheckTimeout.
func CheckTimeouts(timeout, idleTimeout float64) error {
	return errors.Join(CheckTimeout(AttrTimeout, timeout), CheckTimeout(AttrIdleTimeout, idleTimeout))
}

// IsLoopback reports whether a server URL names this machine (localhost or
// a loopback address): a model there is "local", and a key sent there over
// plain http does not cross the network.
func IsLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Seconds converts a timeout attribute to a duration.
func Seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}
