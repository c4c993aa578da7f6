// Package api holds Advocate's OpenAPI document, the contract of the REST
// API, embedded so that the server can serve it and tests can check every
// request and response against it.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
