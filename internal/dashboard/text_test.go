package dashboard_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestBadTextRefused sends a NUL and invalid UTF-8 in the path segments,
// query parameters and form fields of every dashboard route (read from
// web.Dashboard): PostgreSQL would refuse them with a 500 where SQLite stores
// them, so both must answer alike with a 4xx and change nothing.
func TestBadTextRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.customer("jane", "Jane Doe", "")
		c := e.asOwner(t)
		before := storetest.Fingerprint(t, e.db)
		for _, bad := range []struct{ name, escaped, raw string }{{"NUL", "a%00b", "a\x00b"}, {"invalid UTF-8", "a%FFb", "a\xffb"}} {
			for _, method := range []string{"GET", "POST"} {
				for _, pattern := range routes(t, method) {
					path := fill(pattern, e.program.ID)
					var send func(path string, form url.Values) *page
					if method == "GET" {
						send = func(path string, _ url.Values) *page { return c.get(path) }
					} else {
						send = func(path string, form url.Values) *page { return c.post(path, form) }
					}
					form := url.Values{"name": {"Spring"}, "note": {"thanks"}}
					for _, seg := range strings.Split(strings.Trim(path, "/"), "/")[1:] {
						if seg == "x" || seg == e.program.ID {
							t.Run(bad.name+" as "+seg+" in "+method+" "+pattern, func(t *testing.T) {
								p := strings.Replace(path, "/"+seg+"/", "/"+bad.escaped+"/", 1)
								if strings.HasSuffix(path, "/"+seg) {
									p = strings.TrimSuffix(path, seg) + bad.escaped
								}
								send(p, form).want(t, http.StatusNotFound)
							})
						}
					}
					for _, param := range []string{"q", "after", "ledger_after", "status", "filter", "next", "pid"} {
						t.Run(bad.name+" in ?"+param+" of "+method+" "+pattern, func(t *testing.T) {
							send(path+"?"+param+"="+bad.escaped, form).want(t, http.StatusUnprocessableEntity).has(t, param)
						})
					}
					if method == "POST" {
						for _, field := range []string{"name", "note", "reason", "email", "amount", "currency", "website_url"} {
							t.Run(bad.name+" in field "+field+" of "+pattern, func(t *testing.T) {
								f := url.Values{field: {bad.raw}}
								send(path, f).want(t, http.StatusUnprocessableEntity).has(t, field)
							})
						}
					}
				}
			}
		}
		if diff := cmp.Diff(before, storetest.Fingerprint(t, e.db)); diff != "" {
			t.Errorf("refused requests wrote (-before +after):\n%s", diff)
		}
	})
}

// TestOnlyURLEncodedForms posts a multipart form and other bodies to every
// dashboard POST route: FormValue would read a multipart body that the
// text check never saw (SQLite then stored a NUL where PostgreSQL answered
// 422), so anything but an urlencoded form is a 415 that changes nothing.
func TestOnlyURLEncodedForms(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.customer("jane", "Jane Doe", "")
		c := e.asOwner(t)
		before := storetest.Fingerprint(t, e.db)
		multipartBody := func(value string) (string, string) {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			for _, field := range []string{"name", "note", "reason", "email", "website_url"} {
				mw.WriteField(field, value)
			}
			mw.Close()
			return mw.FormDataContentType(), b.String()
		}
		bodies := []struct{ name, contentType, body string }{
			{"json", "application/json", `{"name": "Spring"}`},
			{"text", "text/plain", "name=Spring"},
		}
		for _, value := range []struct{ name, v string }{{"NUL", "a\x00b"}, {"invalid UTF-8", "a\xffb"}, {"clean", "Spring"}} {
			ct, body := multipartBody(value.v)
			bodies = append(bodies, struct{ name, contentType, body string }{"multipart " + value.name, ct, body})
		}
		for _, pattern := range routes(t, "POST") {
			path := fill(pattern, e.program.ID)
			for _, b := range bodies {
				t.Run(b.name+" to "+pattern, func(t *testing.T) {
					req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(b.body))
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Content-Type", b.contentType)
					req.Header.Set("Sec-Fetch-Site", "same-origin")
					req.Header.Set("Origin", c.e.srv.URL)
					c.do(req).want(t, http.StatusUnsupportedMediaType)
				})
			}
		}
		if diff := cmp.Diff(before, storetest.Fingerprint(t, e.db)); diff != "" {
			t.Errorf("refused requests wrote (-before +after):\n%s", diff)
		}
	})
}
