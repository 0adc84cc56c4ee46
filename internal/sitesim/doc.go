// Package sitesim simulates the sites a drill fails over between, for tests, benchmarks and
// cmd's demo and sim commands only: production code never imports it.
//
// Each simulated site serves two things over real HTTP on 127.0.0.1:
//
//   - a Nomad HTTP API emulator that the official github.com/hashicorp/nomad/api client talks
//     to: jobs, allocations, deployments, nodes (with drain and eligibility), evaluations,
//     blocking queries on one raft-like index, the event stream and ACL tokens;
//   - a toy service ingress answering GET /<job>/healthz with 200 when the job is healthy on
//     the site, else 503 with a JSON reason.
//
// Nothing is faked toward the drill: a job becomes healthy only because its allocations went
// through their life cycle on the emulator (pending, running after Config.StartDelay, healthy
// after Config.HealthDelay) on eligible nodes. Jobs configured as Running are the state before
// the drill and start settled (allocations healthy, deployment successful).
//
// Faults are injected per site: a rate of 500 answers, added latency, a network partition of
// the Nomad listener, hanging requests and failing jobs.
//
// Simplifications against a real Nomad cluster: a job update that changes more than the group
// counts replaces all of its allocations at once; failed allocations are not rescheduled until
// the job gets a new version; drains complete at once; there is one region per site and
// namespaces need not exist before use.
package sitesim
