// Package track records referral clicks and resolves short links without
// putting the database on the visitor's path: codes resolve from a small
// cache and clicks are written in batches in the background.
package track

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// botMarkers are user-agent fragments of crawlers, link-preview fetchers,
// HTTP clients and automated browsers; their visits are not counted as
// clicks. Headless browsers are automation (scrapers, prerenderers, link
// checkers): a person never browses with one. Chat apps are named only
// by their fetchers ("TelegramBot", "Slackbot" match "bot"), never by the
// app: "Telegram-Android" is a person in Telegram's in-app browser.
var botMarkers = []string{
	"bot", "crawl", "spider", "slurp", "preview", "facebookexternalhit", "meta-externalagent", "embedly",
	"iframely", "cardyb", "whatsapp", "googleother", "google-inspectiontool", "bingpreview",
	"curl/", "wget/", "python-", "python/", "go-http-client", "java/", "okhttp", "libwww", "httpclient",
	"axios/", "node-fetch", "http.rb/", "httpie/", "postmanruntime", "scrapy", "aiohttp",
	"headlesschrome", "phantomjs", "lighthouse", "pingdom", "uptime", "monitor", "scanner",
	"feedfetcher",
}

// IsBot reports whether a user agent belongs to software rather than a
// person. An empty user agent counts as software. It runs on every
// short-link visit, so a user agent of usual length is lowered into a
// buffer on the stack instead of a new string.
func IsBot(userAgent string) bool {
	if userAgent == "" {
		return true
	}
	var buf [512]byte
	var ua []byte
	if len(userAgent) <= len(buf) {
		ua = buf[:len(userAgent)]
		for i := range len(userAgent) {
			c := userAgent[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			ua[i] = c
		}
	} else {
		ua = []byte(strings.ToLower(userAgent))
	}
	for _, m := range botMarkerBytes {
		if bytes.Contains(ua, m) {
			return true
		}
	}
	return false
}

// botMarkerBytes are botMarkers as byte slices, for IsBot.
var botMarkerBytes = func() [][]byte {
	out := make([][]byte, len(botMarkers))
	for i, m := range botMarkers {
		out[i] = []byte(m)
	}
	return out
}()

// VisitorCookie is the first-party cookie on Advocate's own domain that
// keeps a short-link visitor recognisable for unique-click counting.
const VisitorCookie = "adv_vid"

// Visitor returns an opaque id for the person behind r: their visitor
// cookie if they have one, else a hash of their address and user agent
// (which also serves clients that keep no cookies). fresh says whether the
// caller should set the cookie.
func Visitor(r *http.Request, remoteIP string) (id string, fresh bool) {
	if c, err := r.Cookie(VisitorCookie); err == nil && validVisitor(c.Value) {
		return c.Value, false
	}
	return Fingerprint(remoteIP, r.UserAgent()), true
}

// Fingerprint hashes an address and a user agent; nothing is kept in clear.
func Fingerprint(ip, userAgent string) string {
	sum := sha256.Sum256([]byte(ip + "\x00" + userAgent))
	return hex.EncodeToString(sum[:16])
}

func validVisitor(v string) bool {
	if len(v) < 8 || len(v) > 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
