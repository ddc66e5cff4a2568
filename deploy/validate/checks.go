package main

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// workload is a pod template and the object that owns it.
type workload struct {
	source    string
	namespace string
	selector  *metav1.LabelSelector
	template  corev1.PodTemplateSpec
}

// set indexes the decoded objects for the cross-checks.
type set struct {
	workloads  []workload
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	accounts   map[string]bool
}

func key(namespace, name string) string { return namespace + "/" + name }

// crossCheck checks names, selectors, named ports and references across all objects.
func crossCheck(objects []object) []string {
	s := set{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, accounts: map[string]bool{}}
	var problems []string
	for _, o := range objects {
		problems = append(problems, checkMeta(o)...)
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			s.workloads = append(s.workloads, workload{o.source, v.Namespace, v.Spec.Selector, v.Spec.Template})
		case *appsv1.StatefulSet:
			s.workloads = append(s.workloads, workload{o.source, v.Namespace, v.Spec.Selector, v.Spec.Template})
		case *corev1.ConfigMap:
			s.configMaps[key(v.Namespace, v.Name)] = v
		case *corev1.Secret:
			s.secrets[key(v.Namespace, v.Name)] = v
		case *corev1.ServiceAccount:
			s.accounts[key(v.Namespace, v.Name)] = true
		}
	}
	for _, w := range s.workloads {
		problems = append(problems, s.checkWorkload(w)...)
	}
	for _, o := range objects {
		switch v := o.obj.(type) {
		case *corev1.Service:
			problems = append(problems, s.checkService(o.source, v)...)
		case *policyv1.PodDisruptionBudget:
			if len(s.selected(v.Namespace, v.Spec.Selector)) == 0 {
				problems = append(problems, fmt.Sprintf("%s: the PodDisruptionBudget's selector matches no pod template", o.source))
			}
		}
	}
	return problems
}

// checkMeta requires a valid name, and a valid namespace when one is set.
func checkMeta(o object) []string {
	m, err := meta.Accessor(o.obj)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", o.source, err)}
	}
	var problems []string
	for _, msg := range validation.IsDNS1123Subdomain(m.GetName()) {
		problems = append(problems, fmt.Sprintf("%s: metadata.name %q: %s", o.source, m.GetName(), msg))
	}
	if ns := m.GetNamespace(); ns != "" {
		for _, msg := range validation.IsDNS1123Label(ns) {
			problems = append(problems, fmt.Sprintf("%s: metadata.namespace %q: %s", o.source, ns, msg))
		}
	}
	return problems
}

// checkWorkload checks the selector against the template, then every container.
func (s set) checkWorkload(w workload) []string {
	var problems []string
	selector, err := metav1.LabelSelectorAsSelector(w.selector)
	if w.selector == nil || err != nil || selector.Empty() {
		problems = append(problems, fmt.Sprintf("%s: spec.selector is missing or invalid (%v)", w.source, err))
	} else if !selector.Matches(labels.Set(w.template.Labels)) {
		problems = append(problems, fmt.Sprintf("%s: spec.selector does not match the pod template's labels", w.source))
	}
	pod := w.template.Spec
	if name := pod.ServiceAccountName; name != "" && !s.accounts[key(w.namespace, name)] {
		problems = append(problems, fmt.Sprintf("%s: serviceAccountName %q is not among the manifests", w.source, name))
	}
	for _, c := range pod.Containers {
		problems = append(problems, s.checkContainer(w, c)...)
	}
	return problems
}

// checkContainer checks env names, references, probe ports and resource requests against limits.
func (s set) checkContainer(w workload, c corev1.Container) []string {
	at := fmt.Sprintf("%s: container %q", w.source, c.Name)
	var problems []string
	for _, e := range c.Env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			problems = append(problems, fmt.Sprintf("%s: env %q: %s", at, e.Name, msg))
		}
		if e.Value != "" && e.ValueFrom != nil {
			problems = append(problems, fmt.Sprintf("%s: env %q sets both value and valueFrom", at, e.Name))
		}
		problems = append(problems, s.checkEnvSource(at, w.namespace, e)...)
	}
	for _, from := range c.EnvFrom {
		if ref := from.ConfigMapRef; ref != nil && !isTrue(ref.Optional) && s.configMaps[key(w.namespace, ref.Name)] == nil {
			problems = append(problems, fmt.Sprintf("%s: envFrom ConfigMap %q is not among the manifests", at, ref.Name))
		}
		if ref := from.SecretRef; ref != nil && !isTrue(ref.Optional) && s.secrets[key(w.namespace, ref.Name)] == nil {
			problems = append(problems, fmt.Sprintf("%s: envFrom Secret %q is not among the manifests", at, ref.Name))
		}
	}
	for name, probe := range map[string]*corev1.Probe{"startupProbe": c.StartupProbe, "livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe} {
		problems = append(problems, checkProbe(at, name, probe, c.Ports)...)
	}
	for resource, limit := range c.Resources.Limits {
		if request, ok := c.Resources.Requests[resource]; ok && request.Cmp(limit) > 0 {
			problems = append(problems, fmt.Sprintf("%s: the %s request %s exceeds its limit %s", at, resource, request.String(), limit.String()))
		}
	}
	return problems
}

// checkEnvSource checks that a ConfigMap or Secret key reference resolves (unless optional).
func (s set) checkEnvSource(at, namespace string, e corev1.EnvVar) []string {
	if e.ValueFrom == nil {
		return nil
	}
	if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil && !isTrue(ref.Optional) {
		if cm := s.configMaps[key(namespace, ref.Name)]; cm == nil || !hasKey(cm.Data, ref.Key) {
			return []string{fmt.Sprintf("%s: env %q refers to ConfigMap key %s/%s, not among the manifests", at, e.Name, ref.Name, ref.Key)}
		}
	}
	if ref := e.ValueFrom.SecretKeyRef; ref != nil && !isTrue(ref.Optional) {
		if sec := s.secrets[key(namespace, ref.Name)]; sec == nil || !(hasKey(sec.StringData, ref.Key) || sec.Data[ref.Key] != nil) {
			return []string{fmt.Sprintf("%s: env %q refers to Secret key %s/%s, not among the manifests", at, e.Name, ref.Name, ref.Key)}
		}
	}
	return nil
}

// checkProbe requires a probe's port, named or numbered, to be one the container declares.
func checkProbe(at, name string, probe *corev1.Probe, ports []corev1.ContainerPort) []string {
	if probe == nil {
		return nil
	}
	var port intstr.IntOrString
	switch {
	case probe.HTTPGet != nil:
		port = probe.HTTPGet.Port
	case probe.TCPSocket != nil:
		port = probe.TCPSocket.Port
	case probe.GRPC != nil:
		port = intstr.FromInt32(probe.GRPC.Port)
	default:
		return nil
	}
	if !declaresPort(ports, port) {
		return []string{fmt.Sprintf("%s: %s port %s is not a port of the container", at, name, port.String())}
	}
	return nil
}

// checkService requires the selector to match a pod template whose containers declare every target port.
func (s set) checkService(source string, svc *corev1.Service) []string {
	if len(svc.Spec.Selector) == 0 {
		return nil
	}
	selected := s.selected(svc.Namespace, metav1.SetAsLabelSelector(svc.Spec.Selector))
	if len(selected) == 0 {
		return []string{fmt.Sprintf("%s: the Service's selector matches no pod template", source)}
	}
	var problems []string
	for _, p := range svc.Spec.Ports {
		target := p.TargetPort
		if target.IntVal == 0 && target.StrVal == "" {
			target = intstr.FromInt32(p.Port)
		}
		for _, w := range selected {
			if !declaresPort(containerPorts(w.template.Spec), target) {
				problems = append(problems, fmt.Sprintf("%s: port %q targets %s, which %s does not declare", source, p.Name, target.String(), w.source))
			}
		}
	}
	return problems
}

// selected lists the workloads of a namespace whose pod labels the selector matches.
func (s set) selected(namespace string, selector *metav1.LabelSelector) []workload {
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil || sel.Empty() {
		return nil
	}
	var out []workload
	for _, w := range s.workloads {
		if w.namespace == namespace && sel.Matches(labels.Set(w.template.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func containerPorts(pod corev1.PodSpec) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, c := range pod.Containers {
		ports = append(ports, c.Ports...)
	}
	return ports
}

func declaresPort(ports []corev1.ContainerPort, port intstr.IntOrString) bool {
	for _, p := range ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return true
		}
	}
	return false
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func isTrue(b *bool) bool { return b != nil && *b }
