package airlock.authz_test

import data.airlock.authz

api := {"name": "billing-api", "kind": "http", "labels": {"env": "prod"}}

req(method, ro, flags) := call(alice, "http", api, {
	"method": method, "host": "billing.example.com", "path": "/v1/invoices",
	"read_only": ro, "risk": "low", "flags": flags,
})

test_http_get_head_allowed if {
	every m in ["GET", "HEAD"] {
		d := authz.decision with input as req(m, true, [])
		d.allow
	}
}

test_http_post_needs_approval if {
	d := authz.decision with input as req("POST", false, [])
	d.require_approval
	d.reasons == ["HTTP POST billing.example.com/v1/invoices may write, so it needs approval"]
}

test_http_post_classified_read_only_still_needs_approval if {
	d := authz.decision with input as req("post", true, [])
	d.require_approval
	d.reasons == ["HTTP post billing.example.com/v1/invoices may write, so it needs approval"]
}

test_http_post_with_grant_allowed if {
	every ro in [true, false] {
		d := authz.decision with input as with_grant(req("POST", ro, []), "billing-api", in_an_hour)
		d.allow
	}
}

test_http_private_address_denied if {
	d := authz.decision with input as req("GET", true, ["private_address"])
	not d.allow
	not d.require_approval
	d.reasons == ["billing.example.com resolves to a private or loopback address (private_address); requests there are denied"]
}

test_http_missing_method_needs_approval if {
	inp := call(alice, "http", api, {"host": "billing.example.com", "read_only": true, "risk": "low", "flags": []})
	d := authz.decision with input as inp
	d.require_approval
	d.reasons == ["HTTP (no method) billing.example.com may write, so it needs approval"]
}
