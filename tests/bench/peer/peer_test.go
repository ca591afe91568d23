package main

import (
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// What `okami-operator render` prints for a placeholder stack, cut down to two children.
const renderedTemplate = `# zzpeernszz/zzpeerstackzz: the Chroma token Secret zzpeerstackzz-chroma-token is generated in the cluster and not rendered.
---
apiVersion: v1
kind: Service
metadata:
  name: zzpeerstackzz-chroma
  namespace: zzpeernszz
  labels:
    app.kubernetes.io/instance: zzpeerstackzz
    app.kubernetes.io/name: chroma
spec:
  ports:
    - name: http
      port: 8000
      targetPort: 8000
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: zzpeerstackzz-chroma
  namespace: zzpeernszz
spec:
  replicas: 1
  serviceName: zzpeerstackzz-chroma
`

func TestTemplateSubstitutesTheStackNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "children.yaml")
	if err := os.WriteFile(path, []byte(renderedTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := loadTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := tmpl.Render("team-a", "stack-7")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("want 2 children, got %d", len(objs))
	}
	svc, ok := objs[0].(*corev1.Service)
	if !ok || svc.Name != "stack-7-chroma" || svc.Namespace != "team-a" || svc.Labels["app.kubernetes.io/instance"] != "stack-7" {
		t.Fatalf("service: %#v", objs[0])
	}
	sts, ok := objs[1].(*appsv1.StatefulSet)
	if !ok || sts.Spec.ServiceName != "stack-7-chroma" || sts.Kind != "StatefulSet" {
		t.Fatalf("statefulset: %#v", objs[1])
	}
	if got := tmpl.TokenSecretName("stack-7"); got != "stack-7-chroma-token" {
		t.Fatalf("token secret name %q", got)
	}
	if got := tmpl.TokenSecretLabels("stack-7")["app.kubernetes.io/instance"]; got != "stack-7" {
		t.Fatalf("token secret instance label %q", got)
	}
}

func TestWorkloadReadyNeedsTheCurrentGenerationRolledOut(t *testing.T) {
	one := int32(1)
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &one}}
	d.Generation = 2
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 1, Replicas: 1, ReadyReplicas: 1}
	if w, ready := workloadReady(d); !w || ready {
		t.Fatalf("a generation the controller has not seen: workload=%v ready=%v", w, ready)
	}
	d.Status.ObservedGeneration = 2
	if _, ready := workloadReady(d); !ready {
		t.Fatal("rolled out and ready")
	}
	s := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: &one}}
	s.Status = appsv1.StatefulSetStatus{UpdatedReplicas: 1, Replicas: 1, ReadyReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}
	if _, ready := workloadReady(s); ready {
		t.Fatal("a StatefulSet between revisions is not ready")
	}
	if w, _ := workloadReady(&corev1.Service{}); w {
		t.Fatal("a Service is no workload")
	}
}
