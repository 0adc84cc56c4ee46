package sitesim_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/firedrill/firedrill/internal/sitesim"
)

// Example starts a DR site whose auth job is a pilot light, starts the job through the
// official Nomad client and waits for the toy service to turn healthy.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sim, err := sitesim.Start(ctx, sitesim.Config{
		Sites: []sitesim.SiteConfig{{Name: "yatap", Region: "kr-yatap", Jobs: []sitesim.JobConfig{{ID: "auth"}}}},
	})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	dr := sim.Site("yatap")

	client, err := api.NewClient(&api.Config{Address: dr.NomadAddress(), Region: "kr-yatap"})
	if err != nil {
		panic(err)
	}
	job, _, err := client.Jobs().Info("auth", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		panic(err)
	}
	job.Stop = new(false)
	if _, _, err := client.Jobs().Register(job, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		panic(err)
	}
	if err := dr.WaitJobHealthy(ctx, "auth"); err != nil {
		panic(err)
	}
	resp, err := http.Get(dr.IngressAddress() + "/auth/healthz")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 200
}
