# Entry points: make deps | build | kube-bin | cluster-bin | images | cluster | cluster-down | conformance | conformance-report | day2 | chart-tools | test | demo | bench | clean.
# Everything runs as root on Debian 12; `make deps` installs what a fresh
# machine lacks and is a quick no-op afterwards.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

APT_PACKAGES := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config iproute2 ethtool gcc g++ make python3 openssl prometheus iptables nftables curl
# Only make cluster runs nodes: containerd 1.6 with runc, the CNI plugins (bridge,
# host-local, portmap, loopback), nsenter/unshare and mount from util-linux.
CLUSTER_APT_PACKAGES := containerd runc containernetworking-plugins util-linux mount iproute2 iptables openssl
# Only make images needs these (buildah brings runc).
IMAGE_APT_PACKAGES := buildah mmdebstrap
NPM_BIN := node_modules/.bin
# npm ci (re)writes this file, so it records when node_modules was installed.
NPM_STAMP := node_modules/.package-lock.json
ADDON := native/build/Release/kpr.node
NATIVE_SRC := $(shell find native \( -path native/build -o -path native/node_modules \) -prune -o -type f -print) $(wildcard bpf/include/*.h)
TS_SRC := $(shell find lib tests -name '*.ts') tsconfig.json
TS_STAMP := dist/.built
BENCH_BIN := build/connrate build/acceptd build/rrd build/rrclient build/flowrate build/xdpgen
# xdpgen's programs (tests/native/bench_xdp_*.c), loaded from beside it.
BENCH_BPF_OBJS := build/bench_xdp_gen.o build/bench_xdp_count.o build/bench_xdp_redirect.o build/bench_xdp_work.o
# BPF objects that only tests load (error paths of the addon).
TEST_BPF_OBJS := build/verifier_reject.o build/xdp_pass.o build/xdp_reject.o build/tc_pass.o

.PHONY: deps apt-deps cluster-apt-deps image-apt-deps go-deps build bpf kube-bin cluster-bin images cluster cluster-down conformance conformance-report day2 chart-tools test demo bench bench-report bench-control-plane bench-peers bench-datapath bench-flow-rate bench-edge-pps bench-growth bench-steady bench-pods clean

deps: apt-deps $(NPM_STAMP) go-deps

# $(call apt_install,PACKAGES): installs those of PACKAGES that are missing; a quick no-op otherwise.
define apt_install
missing=""; \
for p in $(1); do \
	dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
	echo "installing:$$missing"; \
	apt-get update; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
fi
endef

apt-deps:
	@$(call apt_install,$(APT_PACKAGES))

cluster-apt-deps:
	@$(call apt_install,$(CLUSTER_APT_PACKAGES))

image-apt-deps: | apt-deps
	@$(call apt_install,$(IMAGE_APT_PACKAGES))

# Go builds the e2e control plane (kube-bin); fails saying what to install when it is missing or too old.
go-deps: | apt-deps
	@scripts/build-kube.sh --check-go

$(NPM_STAMP): package-lock.json | apt-deps
	npm ci --no-audit --no-fund
	touch $@

# build/xdpgen too: a datapath test checks the packet-rate benchmark's tools.
build: bpf $(ADDON) $(TS_STAMP) $(TEST_BPF_OBJS) build/xdpgen

bpf: | apt-deps
	$(MAKE) -C bpf

# --nodedir: the headers of the node that will load the addon; node-gyp must
# never try to download them (no internet on these machines).
$(ADDON): $(NATIVE_SRC) $(NPM_STAMP) | apt-deps
	nodedir="$$(node -p 'require("path").resolve(process.execPath, "../..")')"; \
	test -f "$$nodedir/include/node/node_api.h" || { echo "no node headers in $$nodedir/include/node" >&2; exit 1; }; \
	$(NPM_BIN)/node-gyp rebuild --directory native --nodedir="$$nodedir"

# dist/ is rebuilt from scratch: a stale compiled test of a deleted source would still run.
$(TS_STAMP): $(TS_SRC) $(NPM_STAMP)
	rm -rf dist
	$(NPM_BIN)/tsc -p .
	touch $@

build/%.o: tests/native/%.c $(wildcard bpf/include/*.h) | bpf
	@mkdir -p build
	$(MAKE) -s -C bpf obj SRC=$(CURDIR)/$< OUT=$(CURDIR)/$@

build/xdpgen: tests/bench/xdpgen.c tests/bench/bench_net.h $(BENCH_BPF_OBJS) | apt-deps
	@mkdir -p build
	gcc -O2 -Wall -Wextra -Werror -o $@ $< -lbpf

build/%: tests/bench/%.c tests/bench/bench_net.h | apt-deps
	@mkdir -p build
	gcc -O2 -Wall -Wextra -Werror -o $@ $<

# kube-apiserver, kube-proxy and etcd at the versions in tests/e2e/kube-versions.env,
# built once per machine (minutes) into $KPR_CACHE, default ~/.cache/kpr; a quick no-op after.
kube-bin: | go-deps
	@scripts/build-kube.sh

# What a real cluster and upstream's e2e tests need besides (issue 13):
# kubelet, kube-controller-manager, kube-scheduler, kubectl, e2e.test, agnhost,
# from the same Kubernetes version into $KPR_CACHE/kube/<version>/cluster-bin.
cluster-bin: | go-deps
	@scripts/build-kube.sh --cluster

# Every container image of the real cluster (kpr's from the Dockerfile,
# pause, agnhost and the other e2e images, kube-proxy), built with buildah on
# a local Debian root, as archives for `ctr -n k8s.io images import` in
# $$KPR_CACHE/images (scripts/build-images.sh lists them); a no-op when nothing changed.
images: | image-apt-deps kube-bin cluster-bin
	@scripts/build-images.sh

# A two-node cluster on this machine, no kube-proxy (docs/cluster.md): host
# control plane and CoreDNS, two node namespaces with containerd and kubelet,
# every image of images imported. Idempotent; prints the admin kubeconfig's
# path last. cluster-down removes it all.
cluster: deps cluster-apt-deps kube-bin cluster-bin images $(TS_STAMP)
	@node dist/tests/cluster/up.js

cluster-down: deps cluster-apt-deps $(TS_STAMP)
	@node dist/tests/cluster/down.js

# helm and kubeconform at the versions in tests/e2e/chart-tools.env, for the
# chart's tests; built once per machine (about 2 minutes) into $KPR_CACHE/tools.
chart-tools: | go-deps
	@scripts/build-tools.sh

# Upstream's e2e tests on make cluster, judging kpr and then kube-proxy
# (nftables) on nodes started afresh (tests/cluster/conformance.ts), then
# tests/e2e/CONFORMANCE.md from their JUnit. SLICE=ci: the [Conformance] tests
# of [sig-network] Services under kpr alone (make test runs that slice).
SLICE ?= full
conformance: cluster
	node dist/tests/cluster/conformance.js --slice $(SLICE)
	$(if $(filter full,$(SLICE)),$(MAKE) conformance-report)

# The operations of an operator's day two on make cluster, each under load
# (tests/cluster/day2.ts): kube-proxy to kpr and back (nftables, iptables),
# helm upgrade and rollback, kpr killed, evicted, a node drained. Prints the
# README's table; ROWS=name,... runs some (make test runs the kill rows).
day2: cluster chart-tools
	node dist/tests/cluster/day2.js $(if $(ROWS),--rows $(ROWS))

# tests/e2e/CONFORMANCE.md from the JUnit reports of upstream's e2e.test, one
# --report-dir per proxy (the runs of make conformance write them there); the
# focus and skips of those runs are tests/cluster/conformance_focus.ts.
CONFORMANCE_DIR ?= build/conformance
conformance-report: build
	scripts/conformance-report --kpr $(CONFORMANCE_DIR)/kpr --kube-proxy $(CONFORMANCE_DIR)/kube-proxy

# Every test, and upstream's [Conformance] Services tests on make cluster with
# kpr from its image (scripts/run-tests.js brings the cluster up and down).
test: deps cluster-apt-deps build kube-bin cluster-bin chart-tools images
	node scripts/run-tests.js

demo: deps build
	scripts/demo.sh

# Every benchmark, then BENCHMARKS.md and its plots (scripts/bench.sh).
# FULL=1 (or BENCH_SCALE=full): the issues' scales.
BENCH_SCALE ?= $(if $(FULL),full,default)
bench: deps build kube-bin $(BENCH_BIN)
	BENCH_SCALE=$(BENCH_SCALE) scripts/bench.sh

# BENCHMARKS.md and benchmarks/*.svg from benchmarks/results/*.json alone.
bench-report: build
	node dist/tests/bench/report.js

# kpr against a real kube-apiserver at 1k and 10k services; most of its
# minutes go to populating the API server.
bench-control-plane: deps build kube-bin
	node dist/tests/bench/control_plane.js

# kpr beside real kube-proxy (iptables and nftables mode, each in a node
# network namespace of its own) against the same kube-apiserver; 1k services by default.
bench-peers: deps build kube-bin
	node dist/tests/bench/peers.js

# The datapath through kpr, kube-proxy (iptables, nftables) and no proxy
# at all, side by side: ClusterIP and NodePort scenarios at 100 services by
# default (--services 100,10000 for the full scale: make bench-datapath ARGS=...).
bench-datapath: deps build kube-bin $(BENCH_BIN)
	node dist/tests/bench/datapath.js $(ARGS)

# New flows per second through a snat NodePort whose one backend is on
# another node: kpr, then kube-proxy iptables and nftables, each sustained at
# 1000 flows/s for 60 s (ARGS="--seconds 600" for the full 10 minutes) and
# ramped to where it breaks, TCP and UDP (tests/bench/flow_rate.ts).
bench-flow-rate: deps build kube-bin $(BENCH_BIN)
	node dist/tests/bench/flow_rate.js $(ARGS)

# UDP packets/s through a NodePort from a generator in the kernel
# (BPF_PROG_TEST_RUN live frames): kpr snat and dsr, kube-proxy iptables and
# nftables, and two floors with no load balancer (tests/bench/edge_pps.ts).
bench-edge-pps: deps build kube-bin $(BENCH_BIN)
	node dist/tests/bench/edge_pps.js $(ARGS)

# How start-up, change latency, CPU and RSS grow with services in standalone
# mode (ARGS="--services 1000,10000,100000" for the full scale), and the
# agent in steady state beside kube-proxy nftables (10k services, 10 minutes
# of 5 changes/s by default).
bench-growth: deps build
	node dist/tests/bench/growth.js $(ARGS)

bench-steady: deps build kube-bin
	node dist/tests/bench/steady.js $(ARGS)

# Pods as clients on make cluster: kpr and kube-proxy nftables in turn on the
# same pods, beside pod IPs direct (tests/cluster/pod_rates.ts).
bench-pods: cluster $(BENCH_BIN)
	node dist/tests/cluster/pod_rates.js $(ARGS)

clean:
	$(MAKE) -C bpf clean
	rm -rf dist build native/build
