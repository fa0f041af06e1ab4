# kpr's image, the one charts/kpr runs: `docker build -t kpr:0.1.0 .`
#
# BPF objects and vmlinux.h: the objects are compiled against a vmlinux.h and
# carry CO-RE relocations, which libbpf resolves against each node's own BTF
# when the agent loads them, so one build runs on every kernel with BTF
# (/sys/kernel/btf/vmlinux). The build stage uses bpf/include/vmlinux.h when
# the build context has one (`make build` leaves the build machine's there);
# otherwise `make -C bpf` dumps it from /sys/kernel/btf/vmlinux, which a build
# container sees as the build host's.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make g++ python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY bpf bpf
RUN make -C bpf
COPY native native
# The image's own node headers: node-gyp must not download any.
RUN node_modules/.bin/node-gyp rebuild --directory native \
      --nodedir="$(node -p 'require("path").resolve(process.execPath, "../..")')"
COPY tsconfig.json ./
COPY lib lib
RUN node_modules/.bin/tsc -p .

# The runtime's node_modules: dependencies only, none of the build's tools.
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# libbpf1, libelf1, zlib1g: the addon's libraries. iproute2: the agent keeps
# neighbour entries towards other nodes with `ip neigh`. mount: the agent
# mounts bpffs. util-linux: nsenter, with which the chart's init container
# mounts bpffs in the node's mount namespace. ethtool: for looking at a node's
# devices (XDP driver support, offloads) with `kubectl exec`. nftables: the
# agent keeps an empty nat chain while connections another proxy translated
# are left (lib/host/inherited_nat.ts).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libbpf1 libelf1 zlib1g iproute2 ethtool mount util-linux nftables \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/kpr
COPY --from=build /src/package.json ./
COPY --from=deps /src/node_modules node_modules
COPY --from=build /src/dist/lib dist/lib
COPY --from=build /src/native/build/Release/kpr.node native/build/Release/kpr.node
COPY --from=build /src/bpf/sock_lb.o /src/bpf/xdp_lb.o /src/bpf/tc_dsr.o bpf/
COPY bin/kpr bin/kpr
ENV PATH=/opt/kpr/bin:$PATH
ENTRYPOINT ["kpr"]
CMD ["run"]
