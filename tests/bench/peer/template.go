package main

// The peer's children are not rendered from the stack's spec: hack/bench.sh renders one stack
// named PlaceholderName in namespace PlaceholderNamespace with `okami-operator render`, and the
// peer substitutes the reconciled stack's namespace and name into that text on every reconcile,
// then decodes it into typed objects. Every stack of the benchmark has the same spec, so the
// children are the C++ operator's, byte for byte but for the names (and the okami.io/config-hash
// annotations, which the C++ operator hashes over content that includes the names; they stay the
// placeholder's). A substitution and a JSON decode cost less CPU than rendering from a spec: this
// favours the peer.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

const (
	PlaceholderName      = "zzpeerstackzz"
	PlaceholderNamespace = "zzpeernszz"
)

// The line render prints for the Secret the operator generates rather than renders.
var tokenLine = regexp.MustCompile(`^# \S+: the Chroma token Secret (\S+) is generated in the cluster`)

type childTemplate struct {
	kind string
	json []byte // one object, placeholders in
}

type Template struct {
	children    []childTemplate
	tokenSecret string            // "" when the stack has no generated token Secret; else with the placeholder
	tokenLabels map[string]string // the Chroma component's labels, which the C++ operator gives the Secret
}

func loadTemplate(path string) (*Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t := &Template{}
	var docs []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if m := tokenLine.FindStringSubmatch(line); m != nil {
			t.tokenSecret = m[1]
		}
		if line == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	docs = append(docs, cur.String())
	for _, d := range docs {
		j, err := yaml.YAMLToJSON([]byte(d))
		if err != nil {
			return nil, err
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if string(j) == "null" {
			continue // only comments
		}
		if err := json.Unmarshal(j, &head); err != nil {
			return nil, err
		}
		if head.Kind == "" {
			return nil, fmt.Errorf("an object of the template has no kind")
		}
		if !bytes.Contains(j, []byte(PlaceholderName)) {
			return nil, fmt.Errorf("a %s of the template does not carry the placeholder name %s", head.Kind, PlaceholderName)
		}
		if t.tokenLabels == nil && head.Metadata.Labels["app.kubernetes.io/name"] == "chroma" {
			t.tokenLabels = head.Metadata.Labels
		}
		t.children = append(t.children, childTemplate{kind: head.Kind, json: j})
	}
	if len(t.children) == 0 {
		return nil, fmt.Errorf("the template holds no object")
	}
	return t, nil
}

// Render returns the children of stack namespace/name as typed objects (no owner reference yet).
func (t *Template) Render(namespace, name string) ([]client.Object, error) {
	out := make([]client.Object, 0, len(t.children))
	for _, c := range t.children {
		j := bytes.ReplaceAll(c.json, []byte(PlaceholderNamespace), []byte(namespace))
		j = bytes.ReplaceAll(j, []byte(PlaceholderName), []byte(name))
		obj, ok := newTyped(c.kind)
		if !ok {
			return nil, fmt.Errorf("no type for kind %s", c.kind)
		}
		if err := json.Unmarshal(j, obj); err != nil {
			return nil, fmt.Errorf("decoding the %s: %w", c.kind, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// TokenSecretName is the generated Secret's name for stack name, or "".
func (t *Template) TokenSecretName(name string) string {
	return strings.ReplaceAll(t.tokenSecret, PlaceholderName, name)
}

// TokenSecretLabels are the labels of the generated Secret of stack name.
func (t *Template) TokenSecretLabels(name string) map[string]string {
	out := make(map[string]string, len(t.tokenLabels))
	for k, v := range t.tokenLabels {
		out[k] = strings.ReplaceAll(v, PlaceholderName, name)
	}
	return out
}
