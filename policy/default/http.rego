# HTTP family rules. The connector injects credentials and guards against
# SSRF; policy sees method, host, path and whether the request writes.
package airlock.authz

http_safe_methods := {"GET", "HEAD"}

http_safe_method if upper(input.action.method) in http_safe_methods

deny contains msg if {
	input.tool.family == "http"
	"private_address" in input.action.flags
	msg := sprintf("%v resolves to a private or loopback address (private_address); requests there are denied", [input.action.host])
}

# The classifier may find a POST harmless; the method alone still says it
# could write, so it is not trusted without a person (or a grant).
approval contains {"reason": describe_write("http"), "approvers": approvers} if {
	input.tool.family == "http"
	input.action.read_only == true
	not http_safe_method
	not write_granted
}

describe_write("http") := sprintf("HTTP %v %v%v may write, so it needs approval", [
	object.get(input.action, "method", "(no method)"),
	object.get(input.action, "host", ""),
	object.get(input.action, "path", ""),
])
