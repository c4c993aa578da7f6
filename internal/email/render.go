package email

import (
	"fmt"
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Values fill placeholders by name, raw (Render escapes them for HTML).
type Values map[string]string

// Brand is how the program looks in email.
type Brand struct {
	ProgramName string
	Color       string // "#rrggbb"; "" means the default
}

// DefaultColor is the brand colour of a program that has not chosen one.
const DefaultColor = "#4f46e5"

var colorRE = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// ValidColor reports whether s is a colour Brand takes: "#rrggbb" or "#rgb".
func ValidColor(s string) bool { return colorRE.MatchString(s) }

// Content is a rendered email.
type Content struct{ Subject, Text, HTML string }

// buttons are the placeholders whose value, a URL alone in its paragraph,
// becomes a button with this label. Only these and linked below are made
// links: a customer's name that looks like a URL must not become one.
var buttons = map[string]string{
	"referral_link": "Share your link",
	"dashboard_url": "Open the dashboard",
}

// linked are the placeholders whose URL values are links where they stand.
var linked = map[string]bool{"referral_link": true, "dashboard_url": true, "endpoint_url": true}

// Render fills t with v: the text part verbatim; the HTML part with every
// value HTML-escaped, paragraphs as <p>, URLs that are whole values (e.g.
// {{referral_link}}) as links, in a simple branded layout (program name,
// colour, a footer with the unsubscribe link when unsubscribeURL != "").
// A placeholder v lacks renders empty. The subject is made one line
// whatever the values hold, so that no value can add a header.
// An invalid template gives Validate's error (templates are validated on
// save; defaults always render).
func Render(t Template, v Values, b Brand, unsubscribeURL string) (Content, error) {
	if err := t.Validate(); err != nil {
		return Content{}, err
	}
	k, _ := KindByName(t.Kind)
	subject, _ := parse(t.Subject)
	body, _ := parse(strings.TrimSpace(strings.ReplaceAll(t.Body, "\r\n", "\n")))
	program := b.ProgramName
	if program == "" {
		program = v["program_name"]
	}
	color := DefaultColor
	if ValidColor(b.Color) {
		color = strings.ToLower(b.Color)
		if len(color) == 4 {
			color = string([]byte{'#', color[1], color[1], color[2], color[2], color[3], color[3]})
		}
	}
	notice := "You received this because you are a member of " + program + "'s referral program."
	if k.Audience == AudienceAdmins {
		notice = "You received this because you manage " + program + "'s referral program."
	}

	c := Content{Subject: oneLine(fill(subject, v))}
	c.Text = strings.TrimSpace(fill(body, v)) + "\n\n--\n" + notice + "\n"
	if unsubscribeURL != "" {
		c.Text += "Unsubscribe: " + unsubscribeURL + "\n"
	}
	var html strings.Builder
	err := layout.Execute(&html, page{
		Subject:     c.Subject,
		ProgramName: program,
		Color:       template.CSS(color),
		OnColor:     template.CSS(onColor(color)),
		Paragraphs:  paragraphs(body, v),
		Notice:      notice,
		Unsubscribe: unsubscribeURL,
	})
	if err != nil {
		return Content{}, fmt.Errorf("render %s: %w", t.Kind, err)
	}
	c.HTML = html.String()
	return c, nil
}

// fill joins parts with the values in place of the placeholders.
func fill(parts []part, v Values) string {
	var b strings.Builder
	for _, p := range parts {
		if p.name != "" {
			b.WriteString(v[p.name])
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// oneLine turns every run of white space and control characters in s into
// one space.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

// onColor is the text colour that reads well on the background c, "#rrggbb".
func onColor(c string) string {
	n, _ := strconv.ParseUint(c[1:], 16, 32)
	r, g, b := n>>16, n>>8&0xff, n&0xff
	if 299*r+587*g+114*b > 160*1000 {
		return "#111827"
	}
	return "#ffffff"
}

// page is what the layout shows.
type page struct {
	Subject, ProgramName string
	Color, OnColor       template.CSS // validated colours
	Paragraphs           []paragraph
	Notice, Unsubscribe  string
}

// paragraph is a button, or text with links and line breaks.
type paragraph struct {
	Button   *button
	Segments []segment
}

type button struct{ Label, URL string }

// segment is text, a link (URL set, Text its label) or a line break.
type segment struct {
	Text, URL string
	Break     bool
}

var paragraphBreak = regexp.MustCompile(`\n[ \t]*\n\s*`)

// paragraphs lays out the body for HTML: blank lines separate paragraphs,
// other line breaks stay, URLs in the template's own text and in URL
// placeholders' values are links, and a paragraph holding nothing but a
// button placeholder with a URL value is that button.
func paragraphs(body []part, v Values) []paragraph {
	var out []paragraph
	var cur paragraph
	var only string // the placeholder the current paragraph holds alone, if any
	flush := func() {
		if u := v[only]; only != "" && buttons[only] != "" && isURL(u) {
			cur = paragraph{Button: &button{Label: buttons[only], URL: u}}
		}
		if len(cur.Segments) > 0 || cur.Button != nil {
			out = append(out, cur)
		}
		cur, only = paragraph{}, ""
	}
	alone := true // nothing but white space in the paragraph so far, but only
	for _, p := range body {
		if p.name != "" {
			val := v[p.name]
			if alone && only == "" {
				only = p.name
			} else {
				alone, only = false, ""
			}
			if linked[p.name] && isURL(val) {
				cur.Segments = append(cur.Segments, segment{Text: val, URL: val})
				continue
			}
			cur.Segments = appendText(cur.Segments, val, false)
			continue
		}
		for i, chunk := range paragraphBreak.Split(p.text, -1) {
			if i > 0 {
				flush()
				alone = true
			}
			if strings.TrimSpace(chunk) != "" {
				alone, only = false, ""
			}
			cur.Segments = appendText(cur.Segments, chunk, true)
		}
	}
	flush()
	return out
}

var urlRE = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)'\]]`)

// appendText adds s to segs with its line breaks, and its URLs as links
// when link is set (for the template's own text, which the program wrote).
func appendText(segs []segment, s string, link bool) []segment {
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			segs = append(segs, segment{Break: true})
		}
		for link && line != "" {
			loc := urlRE.FindStringIndex(line)
			if loc == nil {
				break
			}
			if loc[0] > 0 {
				segs = append(segs, segment{Text: line[:loc[0]]})
			}
			segs = append(segs, segment{Text: line[loc[0]:loc[1]], URL: line[loc[0]:loc[1]]})
			line = line[loc[1]:]
		}
		if line != "" {
			segs = append(segs, segment{Text: line})
		}
	}
	return segs
}

// isURL reports whether s is an http(s) URL and nothing else.
func isURL(s string) bool {
	return (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) && !strings.ContainsFunc(s, unicode.IsSpace)
}

const font = `font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;`

// layout is the HTML part: tables and inline styles, which email clients
// render alike; html/template escapes every value.
var layout = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f3f4f6;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background-color:#ffffff;border-radius:8px;">
<tr><td style="background-color:{{.Color}};color:{{.OnColor}};padding:20px 32px;border-radius:8px 8px 0 0;` + font + `font-size:20px;font-weight:bold;">{{.ProgramName}}</td></tr>
<tr><td style="padding:32px 32px 16px;` + font + `font-size:16px;line-height:1.5;color:#1f2937;">
{{- range .Paragraphs}}
{{- if .Button}}
<p style="margin:24px 0 8px;"><a href="{{.Button.URL}}" style="display:inline-block;background-color:{{$.Color}};color:{{$.OnColor}};text-decoration:none;font-weight:bold;padding:12px 24px;border-radius:6px;">{{.Button.Label}}</a></p>
<p style="margin:0 0 16px;font-size:14px;word-break:break-all;"><a href="{{.Button.URL}}" style="color:#4b5563;">{{.Button.URL}}</a></p>
{{- else}}
<p style="margin:0 0 16px;">
{{- range .Segments}}{{if .Break}}<br>{{else if .URL}}<a href="{{.URL}}" style="color:{{$.Color}};">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end -}}
</p>
{{- end}}
{{- end}}
</td></tr>
</table>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;">
<tr><td style="padding:16px 32px;` + font + `font-size:12px;line-height:1.5;color:#6b7280;text-align:center;">{{.Notice}}
{{- if .Unsubscribe}} <a href="{{.Unsubscribe}}" style="color:#6b7280;text-decoration:underline;">Unsubscribe</a>.{{end -}}
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`))
