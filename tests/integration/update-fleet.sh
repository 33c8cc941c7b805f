#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# update-fleet.sh OTA_UPDATE OTA_BUNDLE: `ota-update check` and `report`
# against the fleet servers (docs/fleet.md), file slots and the custom boot
# flow of fake-device.sh.
#
# The servers are tests/lib/fleet-server.py: strict stand-ins written from
# the public API documentation, because the real ones cannot run here
# (hawkBit is a Java service shipped as a container image, Memfault a hosted
# service). They answer any request that deviates from the documented
# method, path, headers, query or JSON body with 400 and log a "violation";
# every case below also asserts that there was none.
#
# Memfault: no update (204), an update installed with delta over ranges
# from the stand-in's CDN, the JSON answer form, an expired download URL
# asked again, 503 + Retry-After, a wrong project key (403) and an unknown
# hardware version (400), malformed and hostile answers (no install), the
# outcome in the outcome file. hawkBit: configData, an install with
# proceeding/downloaded feedback, the action kept while the trial is armed
# (no second install), commit -> closed/success, automatic fallback ->
# closed/failure with the reason, 401, a cancel before the first write and
# one during the download (honoured before the arm), the polling sleep kept
# between checks, the token on artifact downloads, 409
# retried, feedback delivered after the server was unreachable for a while,
# the pending action surviving a restart of ota-update (and of the server).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../lib/itest.sh"
need curl
itest_begin "update-fleet.sh OTA_UPDATE OTA_BUNDLE" U B -- "$@"
SERVER=
stop_server() {
	if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
	SERVER=
}

# start_server MODE [PORT]: the stand-in on 127.0.0.1 (the same port again
# after a restart), state in state.json, requests in requests.log.
start_server() {
	rm -f port
	FLEET_PORT=${2:-0} setpriv --pdeathsig TERM python3 "$HERE/../lib/fleet-server.py" "$1" "$W/srv" "$W/state.json" \
		"$W/requests.log" "$W/port" 2>>server.err &
	SERVER=$!
	itest_track "$SERVER"
	wait_for_file port server.err
	PORT=$(cat port)
}
# requests: the log as "METHOD PATH STATUS EXECUTION" lines (a reader that
# stops early, grep -q, is fine); violations: their count.
requests() { python3 -c 'import json,sys
for l in open(sys.argv[1]): e=json.loads(l); print(e["method"], e["path"], e["status"], (e["body"] or {}).get("status",{}).get("execution","") if isinstance(e["body"],dict) else "")' requests.log 2>/dev/null || true; }
# artifact_auth: the Authorization values the artifact requests carried, one
# line each distinct value ("" for none).
artifact_auth() { python3 -c 'import json,sys
print("\n".join(sorted({e["auth"] or "" for e in map(json.loads, open(sys.argv[1])) if "/artifacts/" in e["path"]})))' requests.log; }
violations() { grep -c '"violation": "' requests.log || true; }
st() { python3 -c 'import json,sys; s=json.load(open("state.json")); print(eval(sys.argv[1]))' "$1"; }
set_state() { python3 -c 'import json,sys; s=json.load(open("state.json")); exec(sys.argv[1]); json.dump(s,open("state.json","w"))' "$1"; }

# ---- bundles and a device with file slots ---------------------------------------
. "$HERE/../lib/pki.sh"
pki_signer
mkdir -p srv slots data
head -c $((4 << 20)) /dev/urandom >system-v1.img
# v2: mostly v1, so that the delta fetches a fraction by range
{ head -c $((3 << 20)) system-v1.img; head -c $((1 << 20)) /dev/urandom; } >system-v2.img
head -c 300000 /dev/urandom >boot.img
. "$HERE/../lib/signed-bundle.sh"
bundle() { signed_bundle "$1" "$2" system=system-v2.img boot=boot.img; } # bundle FILE VERSION
bundle srv/board-2.1.otab 2.1
printf 'not a bundle\n' >srv/board-2.1.otab.sig
. "$HERE/../lib/fake-device.sh"
fake_bootflow
device() { # a device running 2.0 from group a, nothing armed, no record
	fake_boot a
	cp system-v1.img slots/system-a
	head -c 300000 /dev/urandom >slots/boot-a
	rm -f data/slots.json data/fleet.json slots/system-b slots/boot-b outcome hawkbit-poll
	: >requests.log
}
printf 'k3y-0123456789abcdef\n' >project.key
printf 'tok-abcdef0123456789\n' >target.token
conf() { # conf CHANNEL
	cat >system.conf <<CONF
$(fake_conf_head "$W" "$W/root.pem" test-board 2.0)
channel = $1
outcome-file = $W/outcome
http-connect-timeout = 3
http-attempts = 2
[memfault]
base-url = http://127.0.0.1:$PORT
project-key-file = $W/project.key
hardware-version = evt-2
software-type = main
device-serial = dev-0042
[hawkbit]
server = http://127.0.0.1:$PORT
tenant = DEFAULT
controller-id = dev-0042
target-token-file = $W/target.token
$(fake_slots "$W" --tries 2)
CONF
}
C=(--config "$W/system.conf")
run() { rc=0; "$U" "${C[@]}" "$@" >out.txt 2>err.txt || rc=$?; }
output() { cat out.txt err.txt | tr '\n' ' ' | head -c 300; }
installed() { cmp -s slots/system-b system-v2.img && cmp -s slots/boot-b boot.img && grep -q '^trial=b' bf.state; }
no_violation() { [ "$(violations)" = 0 ] || { bad "$1" "strict server: $(grep violation requests.log | grep -v '"violation": null' | head -3)"; return 1; }; }

# expect_fail NAME PATTERN ARGS...: exit 1 (EXPECT_RC=5: a network failure,
# docs/cli.md), the pattern in the output, nothing armed.
expect_fail() {
	local name=$1 pattern=$2
	shift 2
	run "$@"
	if [ "$rc" != "${EXPECT_RC:-1}" ] || ! cat out.txt err.txt | grep -q -- "$pattern" || [ "$(fake_calls arm)" != 0 ]; then
		bad "$name" "exit $rc, arm calls $(fake_calls arm), expected 1 and '$pattern': $(output)"
		return
	fi
	no_violation "$name" && ok "$name: $(grep -m1 error err.txt | head -c 200)"
}

# ================================ Memfault ========================================
mkdir -p hooks
start_server memfault
conf memfault
mf_state() { # mf_state RELEASE_VERSION|none [python assignments]
	local rel=null
	[ "$1" = none ] || rel="{\"version\": \"$1\", \"file\": \"board-$1.otab\"}"
	printf '{"project_key": "k3y-0123456789abcdef", "hardware_version": "evt-2", "software_type": "main", "device_serial": "dev-0042", "release": %s}\n' \
		"$rel" >state.json
	[ -z "${2:-}" ] || set_state "$2"
}

device
mf_state none
run check --install
if [ "$rc" = 0 ] && grep -q 'up to date' out.txt && [ "$(fake_calls arm)" = 0 ] && no_violation "memfault none"; then
	ok "memfault: 204, nothing to install"
else bad "memfault none" "exit $rc: $(output)"; fi

device
mf_state 2.1
run check
if [ "$rc" = 0 ] && grep -q "update available from memfault: http://127.0.0.1:$PORT/cdn/" out.txt && [ "$(fake_calls arm)" = 0 ] &&
	no_violation "memfault available"; then
	ok "memfault: 200 reported without --install"
else bad "memfault available" "exit $rc: $(output)"; fi

device
mf_state 2.1
run check --install --json
if [ "$rc" = 0 ] && grep -q '"result":"installed"' out.txt && installed && no_violation "memfault install" &&
	grep -q '"backend": *"memfault"' data/fleet.json &&
	requests | grep -q 'GET /cdn/.* 206'; then
	ok "memfault: installed with delta by range from the CDN URL and recorded ($(requests | grep -c ' 206 ') range responses)"
else bad "memfault install" "exit $rc: $(output) $(requests | tail -3)"; fi
run check --install
if [ "$rc" = 0 ] && grep -q 'already installed and armed' out.txt && [ "$(fake_calls arm)" = 1 ]; then
	ok "memfault: second check before the reboot: armed, not installed again"
else bad "memfault second check" "exit $rc: $(output)"; fi
# Reboot into the trial, commit: the outcome goes to the outcome file and the journal (stderr here).
fake_boot b a b 2
run commit
if [ "$rc" = 0 ] && grep -q "outcome='success'" outcome && grep -q "version='2.1'" outcome && [ ! -e data/fleet.json ] &&
	grep -q 'update outcome: success' err.txt; then
	ok "memfault: commit -> outcome 'success' in the outcome file and the log, record removed"
else bad "memfault outcome" "exit $rc: $(output) $(cat outcome 2>/dev/null)"; fi

device
mf_state 2.1 's["format"]="json"'
run check --install
if [ "$rc" = 0 ] && installed && no_violation "memfault json"; then
	ok "memfault: the JSON form of the answer (data.url)"
else bad "memfault json" "exit $rc: $(output)"; fi

device
mf_state 2.1 's["expire"]=1'
run check --install --json
if [ "$rc" = 0 ] && installed && grep -q '"reasked":1' out.txt && [ "$(requests | grep -c 'releases/latest/url 200')" = 2 ] &&
	requests | grep -q 'GET /cdn/.* 403' && no_violation "memfault expired"; then
	ok "memfault: an expired download URL (403) is asked for again and installed"
else bad "memfault expired" "exit $rc: $(output) $(requests)"; fi

device
mf_state 2.1 's["busy"]=2; s["retry_after"]=1'
start=$(date +%s)
run check --install
if [ "$rc" = 0 ] && installed && [ "$(requests | grep -c 'url 503')" = 2 ] && [ $(($(date +%s) - start)) -ge 2 ] &&
	no_violation "memfault 503"; then
	ok "memfault: 503 + Retry-After: 1 waited for twice, then installed"
else bad "memfault 503" "exit $rc: $(output) $(requests)"; fi
device
mf_state 2.1 's["busy"]=1; s["retry_after"]=3600'
expect_fail "memfault: 503 with a Retry-After too long for one check" "503 Service Unavailable: retry after 3600 s" check --install

device
mf_state 2.1 's["project_key"]="another"'
expect_fail "memfault: 403, wrong project key" "project key in '$W/project.key'" check --install
mf_state 2.1 's["hardware_version"]="dvt-1"'
expect_fail "memfault: 400, unknown hardware version" "hardware_version 'evt-2'" check --install

# Hostile answers from a server that is not Memfault: a static server
# (http-server.py) plays the API at base-url.
stop_server
mkdir -p hostile/api/v0/releases/latest
http_server hostile "$W/hostile"
SERVER=$PID_hostile
HPORT=$PORT_hostile
sed -i "s|^base-url = .*|base-url = http://127.0.0.1:$HPORT|" system.conf
hostile() { # hostile NAME PATTERN BODY
	printf '%s' "$3" >hostile/api/v0/releases/latest/url
	device
	expect_fail "memfault hostile: $1" "$2" check --install
}
hostile "a file: URL" "is not an http(s) URL" 'file:///etc/shadow'
hostile "malformed JSON" "not JSON" '{"data": {"url": '
hostile "wrong type" "'data.url' missing or not a string" '{"data": {"url": 42}}'
hostile "two lines" "not one line" "$(printf 'http://a/x\nhttp://b/y')"
head -c $((1 << 20)) /dev/zero | tr '\0' a >hostile/api/v0/releases/latest/url
device
EXPECT_RC=5 expect_fail "memfault hostile: a 1 MiB body" "larger than 262144 bytes" check --install
stop_server

# ================================ hawkBit =========================================
start_server hawkbit
conf hawkbit
hb_state() { # hb_state [python assignments]
	printf '{"tenant": "DEFAULT", "controller": "dev-0042", "auth": "TargetToken", "token": "tok-abcdef0123456789", "sleep": "00:00:00", "config_requested": true, "action": {"id": "7", "file": "board-2.1.otab", "version": "2.1"}}\n' >state.json
	[ -z "${1:-}" ] || set_state "$1"
}

device
hb_state 's["action"]=None; s["sleep"]="00:01:10"'
run check --install --json
if [ "$rc" = 0 ] && grep -q '"result":"up-to-date"' out.txt && grep -q '"poll":70' out.txt &&
	[ "$(st 's["attributes"]["compatible"]')" = test-board ] && no_violation "hawkbit none"; then
	ok "hawkbit: no action; configData answered with the attributes, polling sleep 70 s reported"
else bad "hawkbit none" "exit $rc: $(output) $(requests)"; fi
# config.polling.sleep holds for the next check (a new process): no request
# until it has passed, even with an action waiting; --now polls at once.
set_state 's["action"]={"id": "7", "file": "board-2.1.otab", "version": "2.1"}'
: >requests.log
run check --install --json
due=$(python3 -c 'import json; print(json.load(open("out.txt")).get("due", -1))' 2>/dev/null || echo -1)
if [ "$rc" = 0 ] && grep -q '"result":"not-due"' out.txt && [ ! -s requests.log ] && [ "$due" -ge 60 ] &&
	[ "$due" -le 70 ] && [ "$(fake_calls arm)" = 0 ]; then
	ok "hawkbit: the next check within the polling sleep asks nothing (due in $due s)"
else bad "hawkbit polling sleep" "exit $rc: $(output) $(requests)"; fi
run check --install --now
if [ "$rc" = 0 ] && installed && requests | grep -q 'deploymentBase/7 200' && no_violation "hawkbit --now"; then
	ok "hawkbit: check --now polls within the sleep and installs"
else bad "hawkbit --now" "exit $rc: $(output) $(requests)"; fi

device
hb_state
run check --install
seq_now=$(requests | awk '{print $1, $3, $4}' | tr '\n' ';')
if [ "$rc" = 0 ] && installed && [ "$(st 's["action"].get("status","open")')" = open ] &&
	requests | grep -q 'POST .*/deploymentBase/7/feedback 200 proceeding' &&
	requests | grep -q 'POST .*/deploymentBase/7/feedback 200 downloaded' &&
	requests | grep -q 'softwaremodules/1/artifacts/board-2.1.otab 206' &&
	grep -q '"action": *"7"' data/fleet.json && no_violation "hawkbit install" &&
	[ "$(artifact_auth)" = "TargetToken tok-abcdef0123456789" ]; then
	ok "hawkbit: installed (delta by range from the server, each artifact request with the target token), feedback proceeding then downloaded, action 7 kept"
else bad "hawkbit install" "exit $rc: $(output) $seq_now"; fi
: >requests.log
run check --install
if [ "$rc" = 0 ] && grep -q 'already installed and armed' out.txt && [ "$(fake_calls arm)" = 1 ] &&
	! requests | grep -q artifacts; then
	ok "hawkbit: the same action before the reboot: armed, not installed again"
else bad "hawkbit second check" "exit $rc: $(output)"; fi
# The device reboots into the trial; ota-update restarts (a new process) and
# the server restarts too: the pending action survives on both sides.
stop_server
start_server hawkbit "$PORT"
fake_boot b a b 2
: >requests.log
run report
if [ "$rc" = 0 ] && grep -q 'not over yet' out.txt && [ -e data/fleet.json ] && [ ! -s requests.log ]; then
	ok "hawkbit: during the trial nothing is reported, the action is kept"
else bad "hawkbit during trial" "exit $rc: $(output)"; fi
run commit
if [ "$rc" = 0 ] && [ "$(st 's["action"]["status"]')" = closed ] && [ "$(st 's["action"]["result"]')" = success ] &&
	[ ! -e data/fleet.json ] && grep -q "outcome='success'" outcome && no_violation "hawkbit commit"; then
	ok "hawkbit: commit -> closed/success delivered ($(st 's["action"]["details"][0]'))"
else bad "hawkbit commit" "exit $rc: $(output) $(requests)"; fi
: >requests.log
run report
if [ "$rc" = 0 ] && grep -q 'no fleet update outcome' out.txt && [ ! -s requests.log ]; then
	ok "hawkbit: sent once: a second report sends nothing"
else bad "hawkbit once" "exit $rc: $(output) $(requests)"; fi

# The whole exchange of an install and its commit, request by request (the
# artifact's range requests as one line), each with the target token.
device
hb_state
run check --install
fake_boot b a b 2
run commit
seq_full=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    st = (e["body"] or {}).get("status", {}) if isinstance(e["body"], dict) else {}
    fin = st.get("result", {}).get("finished", "") if st.get("execution") == "closed" else ""
    f = [e["method"], e["path"].replace("/DEFAULT/controller/v1/dev-0042", "~"), str(e["status"]),
         st.get("execution", ""), fin, "token" if e["auth"] == "TargetToken tok-abcdef0123456789" else "NO-TOKEN"]
    print(" ".join(x for x in f if x))' requests.log | uniq)
want_full="GET ~ 200 token
PUT ~/configData 200 token
GET ~/deploymentBase/7 200 token
POST ~/deploymentBase/7/feedback 200 proceeding token
GET ~/softwaremodules/1/artifacts/board-2.1.otab 206 token
GET ~ 200 token
POST ~/deploymentBase/7/feedback 200 downloaded token
POST ~/deploymentBase/7/feedback 200 closed success token"
if [ "$rc" = 0 ] && [ "$seq_full" = "$want_full" ] && no_violation "hawkbit sequence"; then
	ok "hawkbit: install and commit, the exact request sequence ($(wc -l <requests.log) requests)"
else bad "hawkbit sequence" "exit $rc: got: $(tr '\n' ';' <<<"$seq_full")"; fi

# Fallback: the trial used up its tries (a health check failed), the boot
# loader runs a again; the server is unreachable for a while.
device
hb_state
run check --install
fake_boot a a b 0
stop_server
run report
if [ "$rc" = 5 ] && grep -q 'outcome not delivered' err.txt && grep -q '"outcome": *"failure"' data/fleet.json; then
	ok "hawkbit: server unreachable: the failure is decided and kept ($(grep -m1 error err.txt | head -c 120))"
else bad "hawkbit unreachable" "exit $rc: $(output)"; fi
fake_boot a  # a later boot: the boot loader's trial state is gone, the decision is not
start_server hawkbit "$PORT"
set_state 's["conflicts"]=1'
run report --json
if [ "$rc" = 0 ] && grep -q '"outcome":"failure"' out.txt && [ "$(st 's["action"]["result"]')" = failure ] &&
	st 's["action"]["details"][0]' | grep -q 'fell back to group a after 2 tries' &&
	[ "$(requests | grep -c 'feedback 409')" = 1 ] && [ ! -e data/fleet.json ] && no_violation "hawkbit fallback"; then
	ok "hawkbit: delivered after the outage (one 409 retried): closed/failure, '$(st 's["action"]["details"][0]' | head -c 90)...'"
else bad "hawkbit fallback" "exit $rc: $(output) $(requests)"; fi

# Explicit rollback of a running trial.
device
hb_state
run check --install
fake_boot b a b 2
run rollback
if [ "$rc" = 0 ] && [ "$(st 's["action"]["result"]')" = failure ] &&
	st 's["action"]["details"][0]' | grep -q "rolled back with 'ota-update rollback'" && no_violation "hawkbit rollback"; then
	ok "hawkbit: ota-update rollback -> closed/failure with the reason"
else bad "hawkbit rollback" "exit $rc: $(output) $(requests)"; fi

# Cancel before the first write.
device
hb_state 's["action"]["cancel"]=True'
run check --install
if [ "$rc" = 0 ] && grep -q 'canceled action 7' out.txt && [ "$(fake_calls arm)" = 0 ] && [ ! -e slots/system-b ] &&
	[ "$(st 's["action"]["status"]')" = canceled ] && no_violation "hawkbit cancel"; then
	ok "hawkbit: cancelAction before the first write: confirmed, nothing written"
else bad "hawkbit cancel" "exit $rc: $(output) $(requests)"; fi

# A cancel that comes during the download is honoured before the arm.
device
hb_state 's["cancel_on_download"]=True'
run check --install
if [ "$rc" = 0 ] && grep -q 'canceled action 7' out.txt && [ "$(fake_calls arm)" = 0 ] && [ ! -e data/fleet.json ] &&
	[ "$(st 's["action"]["status"]')" = canceled ] && requests | grep -q 'artifacts/board-2.1.otab 20' &&
	requests | grep -q 'POST .*/cancelAction/7/feedback 200 closed' &&
	! requests | grep -q 'deploymentBase/7/feedback 200 closed' && no_violation "hawkbit cancel during install"; then
	ok "hawkbit: a cancel during the download: confirmed before the arm, nothing armed ($(st 's["action"]["details"][0]'))"
else bad "hawkbit cancel during install" "exit $rc: $(output) $(requests | tail -4)"; fi

# A server with anonymous download enabled takes the token all the same.
device
hb_state 's["anonymous_download"]=True'
run check --install
if [ "$rc" = 0 ] && installed && no_violation "hawkbit anonymous"; then
	ok "hawkbit: anonymous download enabled: installed"
else bad "hawkbit anonymous" "exit $rc: $(output) $(requests | tail -3)"; fi

# Authentication refused.
device
hb_state 's["token"]="other"'
expect_fail "hawkbit: 401 names the token file" "refused the token in '$W/target.token'" check --install

# Hostile deployments: no install, a clear error.
device
hb_state 's["action"]["file"]="board-2.1.otab.sig"'
expect_fail "hawkbit: no *.otab artifact" "no otaroot bundle" check --install

tally_end
