package email

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/referral"
)

// Limits of a template's texts, in characters.
const (
	MaxSubjectLen = 200
	MaxBodyLen    = 10000
)

// Template is a program's subject and body for one kind, and whether it is sent.
type Template struct {
	Kind    string
	Enabled bool
	Subject string
	Body    string // plain text with {{placeholders}}; paragraphs separated by blank lines
}

// Default returns the kind's default template, enabled; an unknown kind
// gives a template that Validate refuses.
func Default(kind string) Template {
	k, _ := KindByName(kind)
	return Template{Kind: kind, Enabled: true, Subject: k.Subject, Body: k.Body}
}

// Validate checks a template, naming every bad field at once. Its errors
// are *referral.Error of KindInvalid with the codes unknown_email_kind,
// subject_required, subject_too_long (more than MaxSubjectLen characters
// or more than one line: a line break would inject headers),
// body_required, body_too_long, invalid_text, template_syntax (a "{{"
// without its "}}", a "}}" alone, or no placeholder name between them) and
// unknown_placeholder (one the kind does not have; the message lists the
// ones it has).
func (t Template) Validate() error {
	k, ok := KindByName(t.Kind)
	if !ok {
		return referral.FieldError("unknown_email_kind", "kind",
			fmt.Sprintf("Unknown email kind %q; the kinds are %s.", t.Kind, kindNames()))
	}
	var v referral.Validation
	switch {
	case !referral.ValidText(t.Subject):
		v.AddCode("subject", referral.ErrBadText.Code, referral.BadTextMessage)
	case strings.TrimSpace(t.Subject) == "":
		v.AddCode("subject", "subject_required", "Subject is required.")
	case utf8.RuneCountInString(t.Subject) > MaxSubjectLen || strings.ContainsAny(t.Subject, "\r\n"):
		v.AddCode("subject", "subject_too_long", fmt.Sprintf("Subject must be one line of at most %d characters.", MaxSubjectLen))
	default:
		checkPlaceholders(&v, k, "subject", t.Subject)
	}
	switch {
	case !referral.ValidText(t.Body):
		v.AddCode("body", referral.ErrBadText.Code, referral.BadTextMessage)
	case strings.TrimSpace(t.Body) == "":
		v.AddCode("body", "body_required", "Body is required.")
	case utf8.RuneCountInString(t.Body) > MaxBodyLen:
		v.AddCode("body", "body_too_long", fmt.Sprintf("Body must be at most %d characters.", MaxBodyLen))
	default:
		checkPlaceholders(&v, k, "body", t.Body)
	}
	return v.Err("invalid_email_template")
}

// checkPlaceholders adds to v the first problem of field's text s, if any.
func checkPlaceholders(v *referral.Validation, k Kind, field, s string) {
	parts, problem := parse(s)
	if problem != "" {
		v.AddCode(field, "template_syntax", problem)
		return
	}
	for _, p := range parts {
		if p.name == "" {
			continue
		}
		if _, ok := k.placeholder(p.name); !ok {
			v.AddCode(field, "unknown_placeholder", fmt.Sprintf("Unknown placeholder {{%s}}; this email may use %s.", p.name, allowed(k)))
			return
		}
	}
}

// allowed lists the kind's placeholders as a template writes them.
func allowed(k Kind) string {
	names := make([]string, len(k.Placeholders))
	for i, p := range k.Placeholders {
		names[i] = "{{" + p.Name + "}}"
	}
	return strings.Join(names, ", ")
}

func kindNames() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

// part is a piece of a template: literal text, or a placeholder's name.
type part struct{ text, name string }

// parse splits s into text and placeholders. A placeholder is "{{name}}",
// with optional spaces inside the braces; name is lower-case letters,
// digits and underscores, starting with a letter. A syntax error gives a
// message naming it instead.
func parse(s string) ([]part, string) {
	var parts []part
	for s != "" {
		open := strings.Index(s, "{{")
		if stray := strings.Index(s, "}}"); stray >= 0 && (open < 0 || stray < open) {
			return nil, `A "}}" has no "{{" before it.`
		}
		if open < 0 {
			parts = append(parts, part{text: s})
			break
		}
		if open > 0 {
			parts = append(parts, part{text: s[:open]})
		}
		end := strings.Index(s[open+2:], "}}")
		if end < 0 {
			return nil, `A "{{" has no "}}" after it.`
		}
		name := strings.TrimSpace(s[open+2 : open+2+end])
		if !validName(name) {
			return nil, fmt.Sprintf("{{%s}} is not a placeholder: write a name such as {{program_name}} between the braces.", clip(name, 40))
		}
		parts = append(parts, part{name: name})
		s = s[open+2+end+2:]
	}
	return parts, ""
}

func validName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// clip shortens s to at most n characters for a message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
