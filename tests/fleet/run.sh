#!/usr/bin/env bash
# Publishing against the real engines (docs/publishing.md): Debian's
# prometheus-pushgateway, prometheus and prometheus-node-exporter, started
# here on 127.0.0.1 on free ports with data in a temporary directory, and a
# Python receiver (tests/fleet/receiver.py) that parses OTLP exports strictly
# with the official protobuf definitions (opentelemetry-proto from PyPI, in a
# virtual environment made here), over HTTP and over HTTPS with a
# self-signed certificate given through SSL_CERT_FILE.
#
#   tests/fleet/run.sh
#
# Needs root the first time: the servers' packages are downloaded with apt
# (never installed: their binaries are taken out into target/fleet/, so no
# service is started), openssl and python3-venv installed if missing.
# Prints a `fleet-check PASS|FAIL name` line per check and closes with
# `N passed, M failed`; exits 1 if any check failed. Every server it starts
# is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
cache=$repo/target/fleet
mkdir -p "$cache"
# Every endpoint here is on 127.0.0.1: no proxy in between.
unset ALL_PROXY all_proxy HTTPS_PROXY https_proxy HTTP_PROXY http_proxy

log() { printf 'fleet: %s\n' "$*" >&2; }

passed=0
failed=0
check() { # NAME COMMAND...: one PASS or FAIL line
    local name=$1
    shift
    if "$@"; then
        printf 'fleet-check PASS %s\n' "$name"
        passed=$((passed + 1))
    else
        printf 'fleet-check FAIL %s\n' "$name"
        failed=$((failed + 1))
    fi
}

install_tools() {
    local missing=()
    command -v openssl >/dev/null || missing+=(openssl)
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if [ ! -x "$cache/bin/promtool" ] || [ ! -x "$cache/bin/prometheus-pushgateway" ] ||
        [ ! -x "$cache/bin/prometheus-node-exporter" ]; then
        log "downloading prometheus, prometheus-pushgateway, prometheus-node-exporter"
        if ! apt-cache show prometheus-pushgateway >/dev/null 2>&1; then
            apt-get update -qq
        fi
        rm -rf "$cache/deb" && mkdir -p "$cache/deb/x" "$cache/bin"
        download() {
            (cd "$cache/deb" && apt-get -o APT::Sandbox::User=root download -qq \
                prometheus prometheus-pushgateway prometheus-node-exporter)
        }
        # Stale package lists name files the archive no longer has: update once.
        download || { apt-get update -qq && download; }
        for deb in "$cache"/deb/*.deb; do
            dpkg-deb -x "$deb" "$cache/deb/x"
        done
        cp "$cache"/deb/x/usr/bin/{prometheus,promtool,prometheus-pushgateway,prometheus-node-exporter} \
            "$cache/bin/"
        rm -rf "$cache/deb"
    fi
    if [ ! -x "$cache/venv/bin/python" ] ||
        ! "$cache/venv/bin/python" -c 'import opentelemetry.proto' 2>/dev/null; then
        log "making a virtual environment with opentelemetry-proto"
        rm -rf "$cache/venv"
        python3 -m venv "$cache/venv"
        "$cache/venv/bin/pip" install --quiet --disable-pip-version-check opentelemetry-proto
    fi
}

install_tools
log "building memsample and the fixture"
cargo build --quiet --locked --bin memsample --example fixture
memsample=$repo/target/debug/memsample
fixture=$repo/target/debug/examples/fixture
bin=$cache/bin
py=$cache/venv/bin/python

work=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# GET URL: the body on stdout, empty on failure.
get() {
    "$py" - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as answer:
        sys.stdout.write(answer.read().decode())
except Exception:
    pass
PY
}

# Waits until URL answers, at most 60 s.
wait_ready() {
    local url=$1 deadline=$((SECONDS + 60))
    until [ -n "$(get "$url")" ]; do
        [ $SECONDS -lt $deadline ] || { log "$url did not come up"; return 1; }
        sleep 0.2
    done
}

# A field of the JSON summary FILE.
summary_field() {
    "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# The value of the sample whose line starts with PREFIX in the exposition on stdin.
sample_value() {
    awk -v prefix="$1" 'index($0, prefix) == 1 { print $NF; exit }'
}

log "starting the Pushgateway, Prometheus and node_exporter on 127.0.0.1"
pgw_port=$(free_port)
"$bin/prometheus-pushgateway" --web.listen-address="127.0.0.1:$pgw_port" \
    --log.level=warn >"$work/pushgateway.log" 2>&1 &
pids+=($!)
mkdir -p "$work/textfile" "$work/prometheus"
ne_port=$(free_port)
"$bin/prometheus-node-exporter" --web.listen-address="127.0.0.1:$ne_port" \
    --collector.disable-defaults --collector.textfile \
    --collector.textfile.directory="$work/textfile" --log.level=warn >"$work/node_exporter.log" 2>&1 &
pids+=($!)
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$pgw_port"]
YAML
prom_port=$(free_port)
"$bin/prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$pgw_port/-/ready"
wait_ready "http://127.0.0.1:$ne_port/metrics"
wait_ready "http://127.0.0.1:$prom_port/-/ready"

# A receiver (HTTP, or HTTPS with CERT KEY); sets receiver_port, appends
# to LOG.
start_receiver() {
    local name=$1
    shift
    "$py" tests/fleet/receiver.py "$work/$name.port" "$work/$name.log" "$@" \
        >"$work/$name.out" 2>&1 &
    pids+=($!)
    local deadline=$((SECONDS + 30))
    until [ -s "$work/$name.port" ]; do
        [ $SECONDS -lt $deadline ] || { log "the $name receiver did not start"; return 1; }
        sleep 0.1
    done
    receiver_port=$(cat "$work/$name.port")
}

# --- the Pushgateway, scraped by Prometheus ---------------------------------
status=0
"$memsample" -i 100ms -o "$work/push.csv" --json-summary "$work/push.json" \
    --push "http://127.0.0.1:$pgw_port" --job fleet-push --label branch=feature/x \
    -- "$fixture" hold 40 sleep 600 >/dev/null 2>"$work/push.err" || status=$?
peak=$(summary_field "$work/push.json" peak_rss_bytes)
check "push: memsample exits with the command's status, no warning" \
    test "$status" = 0 -a "$(grep -c 'cannot publish' "$work/push.err")" = 0
gateway_peak=$(get "http://127.0.0.1:$pgw_port/metrics" |
    grep '^memsample_rss_peak_bytes{' | grep 'job="fleet-push"' | grep 'branch="feature/x"' |
    awk '{print $NF}')
check "push: the Pushgateway holds the pushed peak ($gateway_peak) = the JSON summary's ($peak)" \
    "$py" -c 'import sys; sys.exit(not (sys.argv[1] and float(sys.argv[1]) == float(sys.argv[2])))' \
    "$gateway_peak" "$peak"

query_peak() {
    get "http://127.0.0.1:$prom_port/api/v1/query?query=memsample_rss_peak_bytes%7Bjob%3D%22fleet-push%22%7D" |
        "$py" -c 'import json, sys
try:
    result = json.load(sys.stdin)["data"]["result"]
    print(result[0]["value"][1] if result else "")
except Exception:
    print("")'
}
prom_peak=""
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
    prom_peak=$(query_peak)
    [ -n "$prom_peak" ] && break
    sleep 0.5
done
check "prometheus: the query API returns the pushed peak ($prom_peak) = the JSON summary's ($peak)" \
    "$py" -c 'import sys; sys.exit(not (sys.argv[1] and float(sys.argv[1]) == float(sys.argv[2])))' \
    "$prom_peak" "$peak"

# The documented alerting rules and Grafana query work as pasted.
awk '/^```yaml/ {block++; keep = 0} /^groups:/ {keep = 1} keep && /^```$/ {keep = 0} keep' \
    docs/publishing.md >"$work/rules.yml"
check_rules() { "$bin/promtool" check rules "$work/rules.yml" >"$work/rules.out" 2>&1 || { cat "$work/rules.out" >&2; return 1; }; }
check "docs/publishing.md: the alerting rules pass promtool check rules" check_rules
grafana=$(awk '/^```promql/ {getline; print; exit}' docs/publishing.md)
grafana_jobs() {
    "$py" - "http://127.0.0.1:$prom_port/api/v1/query" "$grafana" <<'PY'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[2]})
with urllib.request.urlopen(url, timeout=5) as answer:
    result = json.load(answer)["data"]["result"]
sys.exit(not any(r["metric"].get("job") == "fleet-push" for r in result))
PY
}
check "docs/publishing.md: the Grafana query ($grafana) returns the pushed job" grafana_jobs

# --- node_exporter's textfile collector -------------------------------------
status=0
"$memsample" -i 100ms -o "$work/text.csv" --json-summary "$work/text.json" \
    --textfile "$work/textfile/memsample.prom" --job fleet-textfile --push-every 200ms \
    -- "$fixture" hold 30 sleep 500 exit 4 >/dev/null 2>"$work/text.err" || status=$?
check "textfile: memsample exits with the command's status (4)" test "$status" = 4
text_peak=$(summary_field "$work/text.json" peak_rss_bytes)
served=$(get "http://127.0.0.1:$ne_port/metrics")
served_peak=$(printf '%s\n' "$served" | sample_value 'memsample_rss_peak_bytes{job="fleet-textfile"}')
check "node_exporter: serves the textfile's peak ($served_peak) = the JSON summary's ($text_peak)" \
    "$py" -c 'import sys; sys.exit(not (sys.argv[1] and float(sys.argv[1]) == float(sys.argv[2])))' \
    "$served_peak" "$text_peak"
check "node_exporter: no textfile scrape error" \
    grep -qx 'node_textfile_scrape_error 0' <<<"$served"
check "promtool check metrics: clean on the textfile" \
    "$bin/promtool" check metrics <"$work/textfile/memsample.prom"

# --- what is pushed, as sent, and OTLP over HTTP -----------------------------
start_receiver plain
plain=$receiver_port
status=0
"$memsample" -i 100ms -o "$work/otlp.csv" --json-summary "$work/otlp.json" \
    --push "http://ci:s3cr3t-pw@127.0.0.1:$plain" --otlp "http://127.0.0.1:$plain" \
    --push-every 200ms --breakdown \
    -- "$fixture" threads 3 hold 20 sleep 600 exit 5 >/dev/null 2>"$work/otlp.err" || status=$?
check "otlp: memsample exits with the command's status (5)" test "$status" = 5
"$py" - "$work/plain.log" "$work/pushed.prom" <<'PY'
import base64, json, sys
bodies = [json.loads(line) for line in open(sys.argv[1])]
puts = [b for b in bodies if b["method"] == "PUT"]
open(sys.argv[2], "wb").write(base64.b64decode(puts[-1]["body"]) if puts else b"")
PY
check "promtool check metrics: clean on the pushed body" \
    "$bin/promtool" check metrics <"$work/pushed.prom"
otlp_peak=$(summary_field "$work/otlp.json" peak_rss_bytes)
check_otlp() { # LOG PEAK: every export parsed strictly; the last one's figures
    "$py" - "$1" "$2" <<'PY'
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1])]
exports = [e for e in entries if e["method"] == "POST"]
assert exports, "no export received"
for e in exports:
    assert e["otlp"] == "parsed", e["otlp"]
    assert e["content_type"] == "application/json", e["content_type"]
last = exports[-1]
metrics, resource = last["metrics"], last["resource"]
assert metrics["memsample.memory.peak"]["value"] == int(sys.argv[2]), (metrics, sys.argv[2])
assert metrics["process.memory.usage"]["unit"] == "By"
assert "process.memory.virtual" in metrics
for key in ("host.name", "process.pid", "process.command_args", "service.name"):
    assert key in resource, (key, resource)
print("fleet: %d exports parsed; last: %s" % (len(exports), sorted(metrics)), file=sys.stderr)
PY
}
check "otlp: every export parses strictly as ExportMetricsServiceRequest; the peak = the JSON summary's" \
    check_otlp "$work/plain.log" "$otlp_peak"
check "otlp: process.thread.count with --breakdown" \
    grep -q '"process.thread.count"' "$work/plain.log"
check "push: the credentials went as a header" \
    grep -q "\"authorization\": \"Basic $(printf 'ci:s3cr3t-pw' | base64)\"" "$work/plain.log"

# --- the phase table, pushed, in a textfile and exported, from one recording -
start_receiver phases
phases_port=$receiver_port
phased=$work/phases.csv
status=0
"$memsample" --phases -i 1h -o "$phased" --push "http://127.0.0.1:$pgw_port" \
    --textfile "$work/textfile/phases.prom" --otlp "http://127.0.0.1:$phases_port" \
    --job fleet-phases -- "$fixture" wait-lines "$phased" 2 hold 10 \
    mark load wait-lines "$phased" 3 spike 60 10 \
    mark 'say "hi" \o/' wait-lines "$phased" 4 hold 20 \
    mark end wait-lines "$phased" 5 >/dev/null 2>"$work/phases.err" || status=$?
check "phases: memsample exits with the command's status, no warning" \
    test "$status" = 0 -a "$(grep -c 'cannot publish' "$work/phases.err")" = 0
"$memsample" report --json "$phased" >"$work/phases-report.json" || true
# PROM_JSON_OR_TEXT KIND: the phase peaks published = the report's phase table.
same_phases() {
    "$py" - "$work/phases-report.json" "$1" "$2" <<'PY'
import json, re, sys
table = {p["name"]: p["peak_bytes"] for p in json.load(open(sys.argv[1]))["phases"]}
assert len(table) == 4 and table["load"] >= 60 << 20, table
kind, source = sys.argv[3], sys.argv[2]
got = {}
if kind == "query":
    for r in json.load(open(source))["data"]["result"]:
        got[r["metric"]["phase"]] = int(float(r["value"][1]))
elif kind == "otlp":
    exports = [json.loads(line) for line in open(source)]
    exports = [e for e in exports if e["method"] == "POST"]
    assert all(e["otlp"] == "parsed" for e in exports), exports
    last = exports[-1]["points"]
    for point in last["memsample.phase.peak"]:
        got[point["attributes"]["phase"]["stringValue"]] = int(point["value"])
    assert len(last["memsample.phase.peak_exact"]) == len(got)
else:
    # The text format: the label value unescaped as Prometheus does.
    line = re.compile(r'^memsample_phase_peak_bytes\{.*phase="((?:[^"\\]|\\.)*)"\} (\S+)$')
    for text in open(source):
        m = line.match(text.strip())
        if m:
            name = re.sub(r'\\(.)', lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(1))
            got[name] = int(float(m.group(2)))
assert got == table, (got, table)
PY
}
query_phases() {
    "$py" - "http://127.0.0.1:$prom_port/api/v1/query" >"$work/phases-query.json" <<'PY'
import json, sys, time, urllib.parse, urllib.request
url = sys.argv[1] + "?" + urllib.parse.urlencode(
    {"query": 'memsample_phase_peak_bytes{job="fleet-phases"}'})
deadline = time.time() + 60
while True:
    with urllib.request.urlopen(url, timeout=5) as answer:
        body = json.load(answer)
    if len(body["data"]["result"]) == 4 or time.time() > deadline:
        break
    time.sleep(0.5)
json.dump(body, sys.stdout)
PY
    same_phases "$work/phases-query.json" query
}
check "prometheus: the query API returns each phase's pushed peak = the report's phase table" \
    query_phases
get "http://127.0.0.1:$ne_port/metrics" >"$work/phases-served.prom"
check "node_exporter: serves each phase's peak = the report's phase table" \
    same_phases "$work/phases-served.prom" text
check "promtool check metrics: clean on the textfile with phases" \
    "$bin/promtool" check metrics <"$work/textfile/phases.prom"
check "otlp: memsample.phase.peak parses strictly, each phase's peak = the report's phase table" \
    same_phases "$work/phases.log" otlp

# --- a password in the URL is never printed nor recorded --------------------
dead=$(free_port)
status=0
"$memsample" -i 100ms -o "$work/secret.csv" --json-summary "$work/secret.json" \
    --push "http://ci:s3cr3t-pw@127.0.0.1:$dead" --push-every 200ms --push-timeout 1s \
    -- "$fixture" sleep 500 exit 6 >/dev/null 2>"$work/secret.err" || status=$?
check "password: the failing push is one warning, the status the command's (6)" \
    test "$status" = 6 -a "$(grep -c 'cannot publish' "$work/secret.err")" = 1
check "password: not in stderr, the CSV or the JSON summary (of either run)" \
    bash -c '! grep -l s3cr3t-pw "$@"' _ "$work"/secret.{err,csv,json} "$work"/otlp.{err,csv,json}

# --- HTTPS with a self-signed certificate through SSL_CERT_FILE -------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
start_receiver tls "$work/cert.pem" "$work/key.pem"
tls=$receiver_port
status=0
SSL_CERT_FILE=$work/cert.pem "$memsample" -i 100ms -o "$work/tls.csv" \
    --json-summary "$work/tls.json" --otlp "https://127.0.0.1:$tls" \
    -- "$fixture" hold 10 sleep 300 >/dev/null 2>"$work/tls.err" || status=$?
check "https: exported through SSL_CERT_FILE's certificate, no warning" \
    test "$status" = 0 -a "$(grep -c 'cannot publish' "$work/tls.err")" = 0
check "https: the export parses strictly; the peak = the JSON summary's" \
    check_otlp "$work/tls.log" "$(summary_field "$work/tls.json" peak_rss_bytes)"
status=0
# The system's roots alone do not know the certificate.
env -u SSL_CERT_FILE -u SSL_CERT_DIR "$memsample" -i 100ms -o "$work/tls2.csv" \
    --otlp "https://127.0.0.1:$tls" -- "$fixture" sleep 200 exit 7 >/dev/null 2>"$work/tls2.err" ||
    status=$?
check "https: without SSL_CERT_FILE the certificate is unknown: one warning, the status the command's (7)" \
    test "$status" = 7 -a "$(grep -c 'cannot publish.*certificate' "$work/tls2.err")" = 1

if [ "$failed" -gt 0 ]; then
    # What memsample said, for the failed checks.
    grep -H 'memsample:' "$work"/*.err >&2 || true
fi
printf '%s passed, %s failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
