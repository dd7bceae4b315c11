package airlock.authz_test

import data.airlock.authz

cluster := {"name": "prod-k8s", "kind": "kubernetes", "labels": {"env": "prod"}}

k8s(verb, resource, ns, name, ro) := {
	"verb": verb, "group": "", "version": "v1", "resource": resource,
	"namespace": ns, "name": name, "read_only": ro, "risk": "low", "flags": [],
}

kube(action) := call(alice, "k8s", cluster, action)

test_k8s_reads_allowed if {
	every v in ["get", "list", "watch", "logs", "events"] {
		d := authz.decision with input as kube(k8s(v, "pods", "shop", "", true))
		d.allow
	}
}

test_k8s_secret_get_needs_approval if {
	d := authz.decision with input as kube(k8s("get", "secrets", "shop", "db-password", true))
	d.require_approval
	d.reasons == ["get of secrets/db-password touches sensitive data (secrets); it needs approval from group:approvers"]
}

test_k8s_sensitive_flag_needs_approval if {
	a := object.union(k8s("get", "configmaps", "shop", "creds", true), {"flags": ["sensitive"]})
	d := authz.decision with input as kube(a)
	d.require_approval
}

test_k8s_exec_needs_approval if {
	d := authz.decision with input as with_grant(kube(k8s("exec", "pods", "shop", "web-1", false)), "prod-k8s", in_an_hour)
	d.require_approval
	d.reasons == ["exec into pods/web-1 in namespace shop runs arbitrary commands; it needs approval from group:approvers"]
}

test_k8s_delete_needs_approval_even_with_grant if {
	d := authz.decision with input as with_grant(kube(k8s("delete", "deployments", "shop", "web", false)), "prod-k8s", in_an_hour)
	d.require_approval
	d.reasons == ["deleting deployments/web in namespace shop cannot be undone; it needs approval from group:approvers"]
}

test_k8s_writes_need_approval if {
	every v in ["apply", "scale", "rollout_restart"] {
		d := authz.decision with input as kube(k8s(v, "deployments", "shop", "web", false))
		d.require_approval
		d.reasons == [sprintf("%s of deployments/web in namespace shop changes the cluster, so it needs approval", [v])]
	}
}

test_k8s_write_with_grant_allowed if {
	d := authz.decision with input as with_grant(kube(k8s("scale", "deployments", "shop", "web", false)), "prod-k8s", in_an_hour)
	d.allow
}

test_k8s_unknown_read_verb_needs_approval if {
	d := authz.decision with input as kube(k8s("patch", "pods", "shop", "web-1", true))
	d.require_approval
	d.reasons == ["patch is not a known read verb, so it needs approval"]
}

test_k8s_kube_system_writes_denied if {
	d := authz.decision with input as kube(k8s("apply", "configmaps", "kube-system", "coredns", false))
	not d.allow
	not d.require_approval
	d.reasons == ["apply of configmaps/coredns in namespace kube-system is denied: the control plane is not changed through airlock"]
}

test_k8s_kube_system_reads_allowed if {
	d := authz.decision with input as kube(k8s("list", "pods", "kube-system", "", true))
	d.allow
}

test_k8s_target_without_name if {
	d := authz.decision with input as kube(k8s("apply", "deployments", "shop", "", false))
	d.reasons == ["apply of deployments in namespace shop changes the cluster, so it needs approval"]
}

test_k8s_cluster_scoped_delete_needs_approval if {
	a := object.remove(k8s("delete", "namespaces", "", "shop", false), ["namespace"])
	d := authz.decision with input as kube(a)
	d.require_approval
	"deleting namespaces/shop (cluster-scoped) cannot be undone; it needs approval from group:approvers" in d.reasons
}

test_k8s_read_without_verb_needs_approval if {
	a := object.remove(k8s("get", "pods", "shop", "", true), ["verb"])
	d := authz.decision with input as kube(a)
	d.require_approval
	d.reasons == ["(no verb) is not a known read verb, so it needs approval"]
}
