package config

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// newEvalContext returns the context every expression in dpc.hcl is
// evaluated in: vars as variables and env("NAME") reading from environ.
func newEvalContext(vars map[string]string, environ map[string]string) *hcl.EvalContext {
	vs := make(map[string]cty.Value, len(vars))
	for k, v := range vars {
		vs[k] = cty.StringVal(v)
	}
	return &hcl.EvalContext{
		Variables: vs,
		Functions: map[string]function.Function{"env": envFunc(environ)},
	}
}

// envFunc is env("NAME"): the variable's value, or "" when it is unset, so
// that a secret such as an API key need not be written in the file.
func envFunc(environ map[string]string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or an empty string when it is unset.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(environ[args[0].AsString()]), nil
		},
	})
}

// environMap turns os.Environ()-style entries into a map; later entries win,
// as they do in os/exec and in koanf's env provider.
func environMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}
