// Package sdk holds the browser SDK, po.js, that businesses load on their
// site with the snippet in docs/sdk.md. It is plain ES2018 with no build
// step, so the file in this folder is exactly what browsers run; the server
// serves it from FS at /js/po.js.
package sdk

import "embed"

// FS holds po.js.
//
//go:embed po.js
var FS embed.FS
