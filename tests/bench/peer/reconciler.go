package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

var stackGVK = schema.GroupVersionKind{Group: "okami.io", Version: "v1alpha1", Kind: "OkamiStack"}

const fieldOwner = client.FieldOwner("okami-peer")

type StackReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Template *Template
}

// Reconcile applies every child of the stack and writes its Ready condition when it changed.
func (r *StackReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	stack := &unstructured.Unstructured{}
	stack.SetGroupVersionKind(stackGVK)
	if err := r.Get(ctx, req.NamespacedName, stack); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !stack.GetDeletionTimestamp().IsZero() {
		return ctrl.Result{}, nil // the garbage collector removes the owned children
	}
	if err := r.ensureTokenSecret(ctx, stack); err != nil {
		return ctrl.Result{}, err
	}
	children, err := r.Template.Render(stack.GetNamespace(), stack.GetName())
	if err != nil {
		return ctrl.Result{}, err
	}
	var waiting []string
	for _, child := range children {
		// PVCs carry no owner reference, as the C++ operator's: the data outlives the stack.
		if _, pvc := child.(*corev1.PersistentVolumeClaim); !pvc {
			if err := controllerutil.SetControllerReference(stack, child, r.Scheme); err != nil {
				return ctrl.Result{}, err
			}
		}
		if err := r.Patch(ctx, child, client.Apply, client.ForceOwnership, fieldOwner); err != nil {
			return ctrl.Result{}, fmt.Errorf("applying %T %s: %w", child, child.GetName(), err)
		}
		// The apply answers with the live object: its status is as fresh as the cache's.
		if workload, ready := workloadReady(child); workload && !ready {
			waiting = append(waiting, strings.TrimPrefix(child.GetName(), stack.GetName()+"-"))
		}
	}
	if len(waiting) == 0 {
		return ctrl.Result{}, r.setReady(ctx, stack, true, "Ready", "every workload is ready")
	}
	return ctrl.Result{}, r.setReady(ctx, stack, false, "Progressing", "waiting for "+strings.Join(waiting, ", "))
}

// ensureTokenSecret creates the Chroma token Secret with a random token when it is missing; it is
// never applied again, so that the token stays.
func (r *StackReconciler) ensureTokenSecret(ctx context.Context, stack *unstructured.Unstructured) error {
	name := r.Template.TokenSecretName(stack.GetName())
	if name == "" {
		return nil
	}
	var existing corev1.Secret
	err := r.Get(ctx, types.NamespacedName{Namespace: stack.GetNamespace(), Name: name}, &existing)
	if err == nil || !apierrors.IsNotFound(err) {
		return err
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	secret := &corev1.Secret{
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"token": []byte(hex.EncodeToString(token))},
	}
	secret.Name, secret.Namespace = name, stack.GetNamespace()
	secret.Labels = r.Template.TokenSecretLabels(stack.GetName())
	if err := controllerutil.SetControllerReference(stack, secret, r.Scheme); err != nil {
		return err
	}
	if err := r.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
