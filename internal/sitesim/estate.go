package sitesim

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/firedrill/firedrill/drills"
)

// FromEstate builds a Config that simulates the estate: one site per estate site, listening
// on the host:port of its Nomad address and ingress URL (or "127.0.0.1:0" for all when
// ephemeral is true), with one job per service (ID = NomadJob, DependsOn = the jobs of the
// services it depends on), running on primary sites and a pilot light elsewhere. A site's
// token comes from the environment variable its nomad block names, looked up with lookupEnv
// (nil means os.LookupEnv), or from its token file; none means no ACL on that site.
func FromEstate(estate *drills.Estate, ephemeral bool, lookupEnv func(string) (string, bool)) (Config, error) {
	if estate == nil {
		return Config{}, fmt.Errorf("sitesim: estate is nil")
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	jobOf := func(svc *drills.Service) string {
		if svc.NomadJob != "" {
			return svc.NomadJob
		}
		return svc.Name
	}
	var cfg Config
	for _, site := range estate.Sites {
		if site.Nomad == nil {
			return Config{}, fmt.Errorf("sitesim: site %s: no nomad block", site.Name)
		}
		sc := SiteConfig{
			Name: site.Name, Region: site.Nomad.Region, Datacenter: site.Nomad.Datacenter,
			NomadListen: DefaultListen, IngressListen: DefaultListen,
		}
		if !ephemeral {
			var err error
			if sc.NomadListen, err = hostPort(site.Nomad.Address); err != nil {
				return Config{}, fmt.Errorf("sitesim: site %s: nomad address: %w", site.Name, err)
			}
			if site.Ingress != "" {
				if sc.IngressListen, err = hostPort(site.Ingress); err != nil {
					return Config{}, fmt.Errorf("sitesim: site %s: ingress: %w", site.Name, err)
				}
			}
		}
		switch {
		case site.Nomad.TokenEnv != "":
			if tok, ok := lookupEnv(site.Nomad.TokenEnv); ok {
				sc.Token = strings.TrimSpace(tok)
			}
		case site.Nomad.TokenFile != "":
			b, err := os.ReadFile(site.Nomad.TokenFile)
			if err != nil {
				return Config{}, fmt.Errorf("sitesim: site %s: read token file: %w", site.Name, err)
			}
			sc.Token = strings.TrimSpace(string(b))
		}
		for _, svc := range estate.Services {
			jc := JobConfig{ID: jobOf(svc), Running: site.Role == drills.SiteRolePrimary}
			for _, dep := range svc.DependsOn {
				d := estate.Service(dep)
				if d == nil {
					return Config{}, fmt.Errorf("sitesim: service %s depends on unknown service %q", svc.Name, dep)
				}
				jc.DependsOn = append(jc.DependsOn, jobOf(d))
			}
			sc.Jobs = append(sc.Jobs, jc)
		}
		cfg.Sites = append(cfg.Sites, sc)
	}
	return cfg, nil
}

// hostPort returns the host:port of a URL, with the scheme's default port if it has none.
func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q has no host", raw)
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}
