# Kubernetes family rules. The action names verb, group, version, resource,
# namespace and name; the connector impersonates the caller, so RBAC still
# applies underneath.
package airlock.authz

k8s_read_verbs := {"get", "list", "watch", "logs", "events"}

k8s_read_verb if input.action.verb in k8s_read_verbs

# Message parts read through object.get: a member missing from the action
# must not make a reason, and with it the rule, undefined.
k8s_verb := object.get(input.action, "verb", "(no verb)")

k8s_namespace := object.get(input.action, "namespace", "")

k8s_target := sprintf("%v/%v", [object.get(input.action, "resource", ""), input.action.name]) if {
	input.action.name != ""
} else := sprintf("%v", [object.get(input.action, "resource", "(no resource)")])

k8s_where := sprintf("in namespace %v", [k8s_namespace]) if {
	k8s_namespace != ""
} else := "(cluster-scoped)"

# Secrets hold credentials: even reading one goes past a person.
approval contains {"reason": msg, "approvers": approvers} if {
	input.tool.family == "k8s"
	k8s_sensitive
	msg := sprintf("%v of %s touches sensitive data (secrets); it needs approval from %s", [k8s_verb, k8s_target, approvers_text])
}

k8s_sensitive if input.action.resource == "secrets"

k8s_sensitive if "sensitive" in input.action.flags

approval contains {"reason": msg, "approvers": approvers} if {
	input.tool.family == "k8s"
	input.action.verb == "exec"
	msg := sprintf("exec into %s %s runs arbitrary commands; it needs approval from %s", [k8s_target, k8s_where, approvers_text])
}

approval contains {"reason": msg, "approvers": approvers} if {
	input.tool.family == "k8s"
	input.action.verb == "delete"
	msg := sprintf("deleting %s %s cannot be undone; it needs approval from %s", [k8s_target, k8s_where, approvers_text])
}

# Defense in depth: a verb we do not know as a read is not trusted to be
# one, even when the classifier said read-only.
approval contains {"reason": msg, "approvers": approvers} if {
	input.tool.family == "k8s"
	input.action.read_only == true
	not k8s_read_verb
	msg := sprintf("%v is not a known read verb, so it needs approval", [k8s_verb])
}

deny contains msg if {
	input.tool.family == "k8s"
	input.action.read_only == false
	k8s_namespace == "kube-system"
	msg := sprintf("%v of %s in namespace kube-system is denied: the control plane is not changed through airlock", [k8s_verb, k8s_target])
}

describe_write("k8s") := sprintf("%v of %s %s changes the cluster, so it needs approval", [k8s_verb, k8s_target, k8s_where])
