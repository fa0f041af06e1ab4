#!/usr/bin/env bash
# make demo: kpr load balancing the dual-stack ClusterIP service demo/web
# (examples/demo) over three HTTP backends, for a client in its own network
# namespace and cgroup. Everything it makes is removed when it ends, also when
# interrupted. Exits non-zero if any request failed.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${KPR_DEMO_REQUESTS:-300}
READY_SECONDS=60
# The agent's readiness line, after the log's timestamp and level.
READY_PATTERN='(^| )kpr: ready'
# The service addresses of examples/demo/web-service.yaml; its endpoints are
# the test network's backends b1-b3 (198.18.0.11-13, fd00:198:18::11-13).
SERVICE_ADDRS=(198.19.0.10 fd00:198:18:1::10)
TESTBED=(node dist/tests/helpers/testbed.js)

work=$(mktemp -d /tmp/kpr-demo.XXXXXX)
agent_pid=

# A child that exited stays a zombie until waited for, so kill -0 cannot tell.
running() {
	local state
	[[ -r /proc/$1/stat ]] && read -r _ _ state _ < "/proc/$1/stat" && [[ $state != Z ]]
}

stop_agent() {
	kill -TERM "$agent_pid" 2>/dev/null || return 0
	for _ in {1..50}; do
		running "$agent_pid" || return 0
		sleep 0.1
	done
	kill -KILL "$agent_pid" 2>/dev/null || true
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	echo "cleaning up..."
	if [[ -n $agent_pid ]]; then stop_agent; fi
	local out
	if ! out=$("${TESTBED[@]}" down --owner $$ 2>&1); then
		echo "$out"
		echo "cleanup incomplete; retry with: ${TESTBED[*]} sweep"
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for_line FILE PATTERN SECONDS PID: succeeds once a line of FILE matches
# the extended regex PATTERN; fails after SECONDS or once process PID is gone.
wait_for_line() {
	local file=$1 pattern=$2 seconds=$3 pid=$4 i
	for ((i = 0; i < seconds * 10; i++)); do
		grep -qE -- "$pattern" "$file" && return 0
		running "$pid" || break
		sleep 0.1
	done
	grep -qE -- "$pattern" "$file"
}

echo "creating namespaces (client, b1-b3, a bridge), a test cgroup and a bpf root..."
testbed_vars=$("${TESTBED[@]}" up --owner $$ --prefix demo --backends 3)
eval "$testbed_vars"
read -ra names <<< "$TESTBED_BACKEND_NAMES"
read -ra namespaces <<< "$TESTBED_BACKEND_NS"
read -ra ipv4s <<< "$TESTBED_BACKEND_IPV4"
read -ra ipv6s <<< "$TESTBED_BACKEND_IPV6"
echo "  client: $TESTBED_CLIENT_IPV4, $TESTBED_CLIENT_IPV6 in $TESTBED_CLIENT_NS"
echo "  cgroup: $TESTBED_CGROUP"
echo "  bpf root: $TESTBED_BPF_ROOT"

echo "starting HTTP servers in the backend namespaces..."
for i in "${!names[@]}"; do
	log="$work/${names[i]}.log"
	ip netns exec "${namespaces[i]}" node dist/tests/helpers/echo_server.js --name "${names[i]}" --http 80 > "$log" 2>&1 &
	# Disowned: teardown kills servers and agent, and bash should not report that as news.
	disown
	if ! wait_for_line "$log" '^listening$' 10 $!; then
		echo "server ${names[i]} did not start:"
		cat "$log"
		exit 1
	fi
	echo "  ${names[i]}: ${ipv4s[i]}:80, [${ipv6s[i]}]:80"
done

echo "starting agent: bin/kpr run --manifests examples/demo --bpf-root $TESTBED_BPF_ROOT --cgroup-root $TESTBED_CGROUP --bpf-lb-acceleration disabled"
bin/kpr run --manifests examples/demo --bpf-root "$TESTBED_BPF_ROOT" --cgroup-root "$TESTBED_CGROUP" --bpf-lb-acceleration disabled > "$work/agent.log" 2>&1 &
agent_pid=$!
disown
if ! wait_for_line "$work/agent.log" "$READY_PATTERN" "$READY_SECONDS" "$agent_pid"; then
	echo "the agent did not report ready within ${READY_SECONDS}s; its log:"
	cat "$work/agent.log"
	exit 1
fi
grep -E "$READY_PATTERN" "$work/agent.log" | sed 's/^/  /'

echo "sending $REQUESTS HTTP requests to each service address from the client (its namespace, the kpr cgroup)..."
reports=()
for addr in "${SERVICE_ADDRS[@]}"; do
	report="$work/requests-${#reports[@]}.json"
	scripts/cg-netns-exec "$TESTBED_CGROUP" "$TESTBED_CLIENT_NS" \
		node dist/tests/helpers/client.js http --addr "$addr" --port 80 --count "$REQUESTS" > "$report"
	reports+=("$report")
done
echo
spread_ok=true
node scripts/demo-spread.js "${reports[@]}" || spread_ok=false

echo
echo "bin/kpr services --bpf-root $TESTBED_BPF_ROOT"
bin/kpr services --bpf-root "$TESTBED_BPF_ROOT"
echo

if ! $spread_ok; then
	echo "some requests failed; the agent's log:"
	cat "$work/agent.log"
	exit 1
fi
echo "all $((REQUESTS * ${#SERVICE_ADDRS[@]})) requests answered"
