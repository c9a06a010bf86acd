package remote

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// SpecPrefix starts a model spec string (ParseSpec).
const SpecPrefix = "oip:"

// ParseSpec splits a model spec, "oip:http://host:port/NAME" (the prefix
// optional) or "http://host:port/v2/models/NAME", into the server URL and
// the model name.
func ParseSpec(spec string) (baseURL, name string, err error) {
	s := strings.TrimPrefix(spec, SpecPrefix)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("remote: model spec %q: want oip:http://host:port/NAME", spec)
	}
	p := strings.Trim(u.Path, "/")
	if rest, ok := strings.CutPrefix(p, "v2/models/"); ok {
		p = rest
	}
	if p == "" || strings.Contains(p, "/") {
		return "", "", fmt.Errorf("remote: model spec %q: want oip:http://host:port/NAME with one path element", spec)
	}
	u.Path, u.RawPath = "", ""
	return u.String(), p, nil
}

// Open dials the model a spec names (ParseSpec): the one-string form for
// command lines and configuration files.
func Open(ctx context.Context, spec string, opts Options) (*Model, error) {
	base, name, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return Dial(ctx, base, name, opts)
}
