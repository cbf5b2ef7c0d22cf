module istio-canary.local/cluster/bridge

go 1.26.0
