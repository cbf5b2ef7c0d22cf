// A Go program that deploys a CanaryRelease and shifts its weight with stack config: `pulumi config set
// canaryWeight 30 && pulumi up`. The istiocanary package is the Go SDK `pulumi package add` generates in
// sdks/istio-canary (see the README, "Use it from other languages").
package main

import (
	"example.com/pulumi-istio-canary/sdk/go/istiocanary"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		// The Istio the cluster already runs (install: false); its gateway's namespace, selector and service
		// account are Outputs, passed below into the release's Inputs.
		mesh, err := istiocanary.NewIstioMesh(ctx, "mesh", &istiocanary.IstioMeshArgs{Install: pulumi.BoolRef(false)})
		if err != nil {
			return err
		}
		restricted := istiocanary.PodSecurityLevelRestricted
		shop, err := istiocanary.NewCanaryRelease(ctx, "shop", &istiocanary.CanaryReleaseArgs{
			App:                   "shop",
			Namespace:             pulumi.StringRef("shop-go"),
			PodSecurityEnforce:    &restricted,
			RolloutTimeoutSeconds: pulumi.Float64Ref(120),
			Stable: istiocanary.TrackArgsArgs{
				Image:   pulumi.String("registry.example.test/shop:1.0.0"),
				Version: pulumi.String("v1"),
			},
			Canary: istiocanary.TrackArgsArgs{
				Image:   pulumi.String("registry.example.test/shop:2.0.0"),
				Version: pulumi.String("v2"),
			},
			CanaryWeight: pulumi.Float64(float64(cfg.GetInt("canaryWeight"))),
			Hosts:        pulumi.StringArray{pulumi.String(cfg.Require("host"))},
			Tls: istiocanary.TlsArgsArgs{
				Cert: pulumi.String(cfg.Require("tlsCert")),
				Key:  cfg.RequireSecret("tlsKey"),
			},
			Gateway: istiocanary.GatewayArgsArgs{
				Namespace:      mesh.GatewayNamespace,
				Selector:       mesh.GatewaySelector,
				ServiceAccount: mesh.GatewayServiceAccount,
			},
		}, pulumi.DependsOn([]pulumi.Resource{mesh}))
		if err != nil {
			return err
		}
		ctx.Export("weights", shop.Weights)
		ctx.Export("url", shop.Url)
		ctx.Export("gatewayNamespace", mesh.GatewayNamespace)
		return nil
	})
}
