# Shell helpers shared by the bench scripts (sourced, not run): processes they start, ports, /proc
# figures, the machine line, and a local Energo cluster on 127.0.0.1.
# The sourcing script sets `set -euo pipefail`, cds to the project root and sets B (build dir).

pids=()  # processes started by the script; stop_all ends them (only these: their pids)
stop_all() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  pids=()
}

# A port for a server this script starts: outside the kernel's ephemeral range (so no outgoing
# connection is given it before the server binds it), free right now, and not handed out before in
# this run (as tools/loopback_port.hpp does for the tests). Call it directly, not in $(…): the
# picked list lives in this shell; the port is in $port.
picked_ports=" "
free_port() {
  port=$(PICKED="$picked_ports" python3 -c '
import os, random, socket
lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
picked = set(int(p) for p in os.environ["PICKED"].split())
candidates = [p for p in range(1024, 65536) if (p < lo or p > hi) and p not in picked]
random.shuffle(candidates)
for p in candidates[:512]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
')
  [ -n "$port" ] || { echo "no free port on 127.0.0.1 outside the ephemeral range" >&2; return 1; }
  picked_ports+="$port "
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU ticks (user + system, all threads) of the given processes: the servers' CPU per committed
# operation is the figure that survives a busy machine best.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
hz=$(getconf CLK_TCK)
machine() { echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
now_s() { date +%s.%N; }

# ---- A local Energo cluster ----------------------------------------------------------------------
# energo_bootstrap WORK GENESIS N: `energo-node init` of WORK/n1..nN with fresh ports (arrays npe,
# ncl, nkey indexed 1..N) and WORK/bootstrap.toml naming them as the initial voters.
declare -a npe ncl nkey
energo_init_node() {  # energo_init_node I DIR: init DIR, set npe[I] ncl[I] nkey[I]
  free_port; npe[$1]=$port; free_port; ncl[$1]=$port
  nkey[$1]=$($B/node/energo-node init --data "$2" --json | sed -E 's/.*"public_key":"([0-9a-f]+)".*/\1/')
}
energo_bootstrap() {
  local work=$1 genesis=$2 n=$3 i
  {
    echo "genesis = \"$genesis\""
    for i in $(seq 1 "$n"); do
      energo_init_node "$i" "$work/n$i"
      printf '[[member]]\nname = "n%d"\npublic_key = "%s"\npeer = "127.0.0.1:%d"\nclient = "127.0.0.1:%d"\n' \
        "$i" "${nkey[$i]}" "${npe[$i]}" "${ncl[$i]}"
    done
  } > "$work/bootstrap.toml"
}
# energo_start WORK I [extra flags…]: start node I in the background (log WORK/nI.log); without
# --join in the flags it uses WORK/bootstrap.toml.
energo_start() {
  local work=$1 i=$2; shift 2
  local boot=(--bootstrap "$work/bootstrap.toml")
  case " $* " in *" --join "*) boot=() ;; esac
  $B/node/energo-node start --data "$work/n$i" --name "n$i" "${boot[@]}" \
    --peer-listen "127.0.0.1:${npe[$i]}" --client-listen "127.0.0.1:${ncl[$i]}" "$@" 2> "$work/n$i.log" &
  pids+=($!)
}
# energo_wait_leader ENDPOINTS [tries]: until a status names a leader (0.1 s per try).
energo_wait_leader() {
  local _
  for _ in $(seq 1 "${2:-100}"); do
    $B/node/energoctl --endpoints "$1" --timeout-ms 500 --json status 2>/dev/null | grep -q '"leader":[1-9]' && return 0
    sleep 0.1
  done
  return 1
}
