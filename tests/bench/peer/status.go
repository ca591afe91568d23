package main

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// workloadReady says whether obj is a workload and, if so, whether it is ready in the C++
// operator's sense (operator/src/okami/controllers/stack_observation.cpp): the controller has
// seen the current generation, every replica runs the current template, no surplus replica is
// left, and readyReplicas reaches spec.replicas (> 0).
func workloadReady(obj client.Object) (workload, ready bool) {
	replicas := func(p *int32) int32 {
		if p == nil {
			return 1
		}
		return *p
	}
	switch w := obj.(type) {
	case *appsv1.StatefulSet:
		want, st := replicas(w.Spec.Replicas), w.Status
		revisions := st.CurrentRevision == "" || st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision
		rolled := st.ObservedGeneration >= w.Generation && st.UpdatedReplicas >= want && st.Replicas <= want && revisions
		return true, rolled && want > 0 && st.ReadyReplicas >= want
	case *appsv1.Deployment:
		want, st := replicas(w.Spec.Replicas), w.Status
		rolled := st.ObservedGeneration >= w.Generation && st.UpdatedReplicas >= want && st.Replicas <= want
		return true, rolled && want > 0 && st.ReadyReplicas >= want
	}
	return false, false
}

// setReady writes the Ready condition into the stack's status, only when it changed.
func (r *StackReconciler) setReady(ctx context.Context, stack *unstructured.Unstructured, ready bool, reason, message string) error {
	var conditions []metav1.Condition
	if raw, found, _ := unstructured.NestedSlice(stack.Object, "status", "conditions"); found {
		wrapped := map[string]any{"conditions": raw}
		var decoded struct {
			Conditions []metav1.Condition `json:"conditions"`
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(wrapped, &decoded); err == nil {
			conditions = decoded.Conditions
		}
	}
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	changed := meta.SetStatusCondition(&conditions, metav1.Condition{
		Type: "Ready", Status: status, Reason: reason, Message: message, ObservedGeneration: stack.GetGeneration(),
	})
	if !changed {
		return nil
	}
	out := make([]any, 0, len(conditions))
	for i := range conditions {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&conditions[i])
		if err != nil {
			return err
		}
		out = append(out, u)
	}
	if err := unstructured.SetNestedSlice(stack.Object, out, "status", "conditions"); err != nil {
		return err
	}
	return r.Status().Update(ctx, stack)
}
