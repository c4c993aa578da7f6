package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/track"
	"github.com/advocate-oss/advocate/web/sdk"
)

// ShortLink sends a visitor on to a code's destination with the referral
// parameter added, recording the click in the background. Unknown and
// malformed codes go to the program's website: a shared link must never
// end on an error page.
func (s *Server) ShortLink(w http.ResponseWriter, r *http.Request) error {
	code := referral.NormalizeCode(r.PathValue("code"))
	var target *referral.LinkTarget
	if referral.ValidCode(code) == "" {
		var err error
		if target, err = s.links.Resolve(r.Context(), code); err != nil {
			return err
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer-when-downgrade")
	if target == nil {
		home, err := s.links.Home(r.Context())
		if err != nil {
			return err
		}
		if home == "" {
			return errNotFound
		}
		http.Redirect(w, r, home, http.StatusFound)
		return nil
	}
	if r.Method == http.MethodGet && !track.IsBot(r.UserAgent()) {
		visitor, fresh := track.Visitor(r, s.Config.Proxies.IP(r))
		if fresh {
			http.SetCookie(w, &http.Cookie{Name: track.VisitorCookie, Value: visitor, Path: "/r/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
		}
		s.clicks.Record(referral.Click{ProgramID: target.ProgramID, LinkID: target.LinkID, Source: referral.ClickShortLink,
			Visitor: visitor, Referrer: r.Referer(), UserAgent: r.UserAgent(), At: s.now().UTC()})
	}
	http.Redirect(w, r, target.URL, http.StatusFound)
	return nil
}

// maxBeaconBytes caps a click beacon's body.
const maxBeaconBytes = 4 << 10

// TrackClick records a click reported by po.js on the business's site.
// sendBeacon cannot set headers, so the publishable key travels in the
// body, which may be sent as text/plain. Unknown codes are answered 202
// {"recorded": false}: a beacon has nobody to show an error to.
func (s *Server) TrackClick(w http.ResponseWriter, r *http.Request) error {
	body, err := readLimited(r, maxBeaconBytes)
	if err != nil {
		return err
	}
	var in struct {
		PublishableKey string `json:"publishable_key"`
		Code           string `json:"code"`
		URL            string `json:"url"`
		Referrer       string `json:"referrer"`
		VisitorID      string `json:"visitor_id"`
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	key, prog, err := s.lookupKey(r, in.PublishableKey)
	if err != nil {
		return err
	}
	if key.Kind != referral.PublishableKey { // a secret key in a web page is a leak, not a credential
		return errUnauthorized
	}
	if err := s.allowOrigin(w, r, prog); err != nil {
		return err
	}
	if err := s.limitIP(w, r, key.ProgramID); err != nil {
		return err
	}
	recorded := false
	code := referral.NormalizeCode(in.Code)
	if referral.ValidCode(code) == "" && !track.IsBot(r.UserAgent()) {
		target, err := s.links.Resolve(r.Context(), code)
		if err != nil {
			return err
		}
		if target != nil && target.ProgramID == prog.ID {
			recorded = true
			ip := s.Config.Proxies.IP(r)
			now := s.now().UTC()
			// The visit that followed a short link was counted there.
			if !s.clicks.SeenShortLink(target.LinkID, track.Fingerprint(ip, r.UserAgent()), now) {
				visitor := in.VisitorID
				if !validVisitorID(visitor) {
					visitor = track.Fingerprint(ip, r.UserAgent())
				}
				s.clicks.Record(referral.Click{ProgramID: prog.ID, LinkID: target.LinkID, Source: referral.ClickSDK,
					Visitor: visitor, LandingURL: in.URL, Referrer: in.Referrer,
					UserAgent: r.UserAgent(), At: now})
			}
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]bool{"recorded": recorded})
	return nil
}

func validVisitorID(v string) bool {
	if len(v) < 8 || len(v) > 64 {
		return false
	}
	return strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}

// SDKConfig tells po.js how the program attributes visits.
func (s *Server) SDKConfig(w http.ResponseWriter, r *http.Request) error {
	p := program(r)
	writeJSON(w, http.StatusOK, map[string]any{"referral_param": p.RefParam, "cookie_days": p.CookieDays,
		"attribution": p.Attribution, "program_name": p.Name})
	return nil
}

// PoJS serves the SDK, gzipped when the client accepts it.
func (s *Server) PoJS(w http.ResponseWriter, r *http.Request) error {
	plain, zipped := sdkFiles()
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Add("Vary", "Accept-Encoding")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(zipped)
		return nil
	}
	w.Write(plain)
	return nil
}

var sdkFiles = sync.OnceValues(func() ([]byte, []byte) {
	plain, err := sdk.FS.ReadFile("po.js")
	if err != nil {
		panic("po.js is not embedded: " + err.Error())
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(plain)
	zw.Close()
	return plain, b.Bytes()
})

// readLimited reads a body of at most n bytes, JSON or text/plain.
func readLimited(r *http.Request, n int64) ([]byte, error) {
	var b bytes.Buffer
	if _, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, n)); err != nil {
		return nil, referral.Errorf(referral.KindMalformed, "body_too_large", "The request body is larger than %d bytes.", n)
	}
	return b.Bytes(), nil
}

// widgetJSON is what the referral widget shows.
type widgetJSON struct {
	Customer struct {
		Key          string `json:"key"`
		Name         string `json:"name"`
		ReferralCode string `json:"referral_code"`
		ReferralURL  string `json:"referral_url"`
		ShortURL     string `json:"short_url"`
	} `json:"customer"`
	Stats   statsJSON `json:"stats"`
	Balance struct {
		Balance  json.Number `json:"balance"`
		Currency string      `json:"currency"`
		Pending  json.Number `json:"pending"`
	} `json:"balance"`
	Program struct {
		Name       string `json:"name"`
		WebsiteURL string `json:"website_url"`
	} `json:"program"`
	ShareText string `json:"share_text"`
	// Leaderboard is there only when the program shows one (omitzero:
	// an empty board is [], not left out).
	Leaderboard []widgetLeaderJSON `json:"leaderboard,omitzero"`
}

var errCustomerHash = referral.Errorf(referral.KindForbidden, "invalid_customer_hash",
	"customer_hash must be hex(HMAC-SHA256(widget_secret, customer_key)), computed by your backend.")

// Widget returns one customer's link, stats and balance for the widget,
// only to a caller that proves who the customer is with customer_hash.
func (s *Server) Widget(w http.ResponseWriter, r *http.Request) error {
	p := program(r)
	key := r.URL.Query().Get("customer_key")
	if key == "" {
		return referral.FieldError("invalid_parameter", "customer_key", "customer_key is required.")
	}
	if p.RequireHash && !p.ValidCustomerHash(key, r.URL.Query().Get("customer_hash"), s.now()) {
		return errCustomerHash
	}
	c, err := s.DB.Customer(r.Context(), p.ID, key)
	if err != nil {
		return err
	}
	st, err := s.DB.Stats(r.Context(), p.ID, c.ID, p.Currency)
	if err != nil {
		return err
	}
	b, err := s.DB.Balance(r.Context(), p.ID, c.ID, p.Currency)
	if err != nil {
		return err
	}
	var out widgetJSON
	if out.Leaderboard, err = s.widgetLeaderboard(r, p, c.ID); err != nil {
		return err
	}
	out.Customer.Key, out.Customer.Name, out.Customer.ReferralCode = c.Key, c.Name, c.ReferralCode
	out.Customer.ReferralURL = referral.WithRef(p.WebsiteURL, p.RefParam, c.ReferralCode)
	out.Customer.ShortURL = strings.TrimRight(s.Config.BaseURL, "/") + "/r/" + c.ReferralCode
	out.Stats = statsJSON{TotalReferrals: st.TotalReferrals, SuccessfulReferrals: st.SuccessfulReferrals,
		PendingReferrals: st.PendingReferrals, TotalRewards: amountJSON(st.TotalRewards, p.Currency), Currency: p.Currency}
	bj := toBalanceJSON(b)
	out.Balance.Balance, out.Balance.Currency, out.Balance.Pending = bj.Balance, bj.Currency, bj.Pending
	out.Program.Name, out.Program.WebsiteURL = p.Name, p.WebsiteURL
	out.ShareText = "Join me on " + p.Name + " with my referral link:"
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, out)
	return nil
}
