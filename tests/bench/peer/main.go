// okami-peer: the benchmark's reference operator for OkamiStack, written the way a team would
// write it with controller-runtime and kubebuilder's defaults, so that hack/bench.sh can measure
// okami-operator side by side against it: typed informers for every owned kind (cluster-wide,
// unfiltered), a server-side apply of every child on each reconcile, and the status written when
// it changed. It is a benchmark contender, not a product: it knows no upgrade, backup, model or
// compatibility logic, and its children come from a template (see template.go).
package main

import (
	"flag"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

func main() {
	var metricsAddr, probeAddr, templatePath string
	var leaderElect bool
	var workers int
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address the metrics endpoint binds to (plain HTTP; \"0\" disables)")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address the /healthz and /readyz probes bind to")
	flag.BoolVar(&leaderElect, "leader-elect", false, "enable leader election")
	flag.IntVar(&workers, "max-concurrent-reconciles", 1, "concurrent reconciles (controller-runtime's default: 1)")
	flag.StringVar(&templatePath, "children-template", "", "the children of one stack as `okami-operator render` prints them for a placeholder stack (see template.go)")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse() // --kubeconfig is registered by controller-runtime's config package
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	if templatePath == "" {
		log.Error(nil, "--children-template is required")
		os.Exit(2)
	}
	tmpl, err := loadTemplate(templatePath)
	if err != nil {
		log.Error(err, "cannot read the children template", "file", templatePath)
		os.Exit(1)
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "okami-peer.okami.io",
	})
	if err != nil {
		log.Error(err, "unable to create the manager")
		os.Exit(1)
	}

	r := &StackReconciler{Client: mgr.GetClient(), Scheme: scheme, Template: tmpl}
	stack := &unstructured.Unstructured{}
	stack.SetGroupVersionKind(stackGVK)
	b := ctrl.NewControllerManagedBy(mgr).For(stack).Named("okamistack").
		WithOptions(controller.Options{MaxConcurrentReconciles: workers})
	// One Owns per kind the template holds, plus the generated token Secret.
	owned := map[string]bool{"Secret": true}
	for _, c := range tmpl.children {
		owned[c.kind] = true
	}
	for kind := range owned {
		obj, ok := newTyped(kind)
		if !ok {
			log.Error(nil, "the template holds a kind the peer has no type for", "kind", kind)
			os.Exit(1)
		}
		b = b.Owns(obj)
	}
	if err := b.Complete(r); err != nil {
		log.Error(err, "unable to create the controller")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "unable to set up the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "unable to set up the ready check")
		os.Exit(1)
	}
	log.Info("starting manager", "children", len(tmpl.children), "tokenSecret", tmpl.tokenSecret != "")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "problem running manager")
		os.Exit(1)
	}
}

// newTyped returns an empty typed object for a child kind the C++ operator may render.
func newTyped(kind string) (client.Object, bool) {
	switch kind {
	case "StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "Deployment":
		return &appsv1.Deployment{}, true
	case "Service":
		return &corev1.Service{}, true
	case "ConfigMap":
		return &corev1.ConfigMap{}, true
	case "Secret":
		return &corev1.Secret{}, true
	case "PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	}
	return nil, false
}
