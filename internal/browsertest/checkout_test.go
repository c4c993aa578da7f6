package browsertest

import (
	"testing"
)

// checkoutPages are init scripts for shop pages that read the code for a
// checkout in ways a plain page does not: /checkout-early asks before
// po.js has loaded (the call waits in the snippet's queue, ahead of
// init), and /checkout-broken has its init refused (a secret key pasted
// by mistake).
const checkoutPages = `
if (location.pathname === '/checkout-early') {
  window.po = function () { (window.po.q = window.po.q || []).push(arguments); };
  window.__early = new Promise(function (r) { po('getReferralCode', r); });
}
if (location.pathname === '/checkout-broken') {
  window.po = function () {
    var a = Array.prototype.slice.call(arguments);
    if (a[0] === 'init') a[1] = {publishable_key: 'sk_live_pasted_by_mistake'};
    (window.po.q = window.po.q || []).push(a);
  };
}`

// TestReferralCodeForCheckout reads the stored code as a shop does to
// pass it to Stripe Checkout (client_reference_id): null before any
// referral link, the code on any later page of the visit, synchronously
// once po.js has loaded and through the callback at any time, also when
// init was refused, where the callback must not leave the checkout
// waiting.
func TestReferralCodeForCheckout(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jane := w.newCustomer("cust_jane", "Jane Doe", "")
	const loaded = `window.po && window.po.loaded === true`

	b := newTab(t, checkoutPages)
	b.open(w.shop + "/pricing")
	if got := eval[string](b, `new Promise(r => po('getReferralCode', c => r(String(c))))`); got != "null" {
		t.Errorf("before any referral link the callback got %q, want null", got)
	}
	if got := eval[string](b, `String(po('getReferralCode'))`); got != "null" {
		t.Errorf("before any referral link getReferralCode returned %q, want null", got)
	}

	b.open(w.shop + "/?ref=" + jane.ReferralCode)
	if got := codeWhenAttributed(b); got != jane.ReferralCode {
		t.Fatalf("after the referral link: %q, want %q", got, jane.ReferralCode)
	}

	b.open(w.shop + "/checkout")
	b.poll(loaded)
	if got := eval[string](b, `String(po('getReferralCode'))`); got != jane.ReferralCode {
		t.Errorf("on the checkout page getReferralCode returned %q, want %q", got, jane.ReferralCode)
	}

	b.open(w.shop + "/checkout-early")
	if got := eval[string](b, `window.__early.then(String)`); got != jane.ReferralCode {
		t.Errorf("a call queued before po.js loaded got %q, want %q", got, jane.ReferralCode)
	}

	b.open(w.shop + "/checkout-broken")
	b.poll(loaded)
	if !b.warned("po(\"init\") needs {publishable_key") {
		t.Errorf("no warning about the refused init: %q", b.allWarnings())
	}
	if got := eval[string](b, `new Promise(r => po('getReferralCode', c => r(String(c))))`); got != jane.ReferralCode {
		t.Errorf("with init refused the callback got %q, want the stored %q", got, jane.ReferralCode)
	}
	if got := eval[string](b, `po('createCustomer', {email: 'x@example.com', key: 'x'}).then(() => 'resolved', e => e.message)`); got != `po("init") did not succeed; see the warning above.` {
		t.Errorf("createCustomer without init: %q, want a rejection", got)
	}
	var list struct{ Data []customer }
	w.call("GET", "/v1/customers?limit=100", nil, 200, &list)
	if len(list.Data) != 1 {
		t.Errorf("%d customers, want only the referrer", len(list.Data))
	}
	b.noExceptions()
}
