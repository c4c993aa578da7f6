// Package browsertest drives the browser SDK (web/sdk/po.js) in real
// headless Chromium against a real Advocate server: a fixture shop on one
// origin loads the snippet from Advocate on another, as a business's site
// would. The package has no code of its own; its tests need Debian's
// chromium (scripts/test.sh installs it) and fail without it on CI.
package browsertest
