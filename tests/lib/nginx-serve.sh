#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nginx-serve.sh WORKDIR SRVDIR PORT [SERVER-LINES]: runs a real nginx in the
# foreground (no daemon, root's own, nothing outside WORKDIR touched) serving
# SRVDIR as static files on 127.0.0.1:PORT, with byte ranges. SERVER-LINES
# are added to the server block (e.g. extra locations). The access log
# WORKDIR/access.log has one line per request: URI, status, body bytes sent,
# Range header. SIGTERM is nginx's fast shutdown (open connections are cut).
#
# Used by integration.update-nginx, bench/update.sh and the Debian VM test.
set -euo pipefail
W=$(realpath "${1:?usage: nginx-serve.sh WORKDIR SRVDIR PORT [SERVER-LINES]}")
SRV=$(realpath "${2:?usage: nginx-serve.sh WORKDIR SRVDIR PORT [SERVER-LINES]}")
PORT=${3:?usage: nginx-serve.sh WORKDIR SRVDIR PORT [SERVER-LINES]}
EXTRA=${4:-}
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need nginx
NGINX_BIN=$(PATH=$PATH:/usr/sbin command -v nginx)
mkdir -p "$W/tmp"
cat >"$W/nginx.conf" <<CONF
daemon off;
user root;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/error.log;
events { worker_connections 64; }
http {
	log_format bytes '\$request_uri \$status \$body_bytes_sent "\$http_range"';
	access_log $W/access.log bytes;
	client_body_temp_path $W/tmp/body;
	proxy_temp_path $W/tmp/proxy;
	fastcgi_temp_path $W/tmp/fastcgi;
	uwsgi_temp_path $W/tmp/uwsgi;
	scgi_temp_path $W/tmp/scgi;
	default_type application/octet-stream;
	types { application/json json; }
	server {
		listen 127.0.0.1:$PORT;
		root $SRV;
		$EXTRA
	}
}
CONF
# SIGTERM when the caller dies: a test killed by its timeout (no EXIT trap
# runs) must not leave nginx behind holding the port.
exec setpriv --pdeathsig TERM "$NGINX_BIN" -c "$W/nginx.conf" -p "$W"
