#!/bin/sh
# Quick start: installs what is missing, builds, loads the bundled sample logs into
# var/quickstart.db and serves on 127.0.0.1:9090, printing curl commands with a test token.
#
# A shared secret is generated once into var/secret (mode 600) unless WSA_RELAY_SECRET or
# WSA_RELAY_SECRET_FILE is already set. Every other WSA_RELAY_* variable is passed through,
# e.g. WSA_RELAY_VERDICT_DAYS=36500 to see verdicts on the sample's old dates.
set -eu
cd "$(dirname "$0")/.."

./deploy/install-deps.sh

# tests need packages the quick start does not install; tests/run.sh turns them back on
cmake -S . -B build -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target wsa-relay

mkdir -p var
if [ -z "${WSA_RELAY_SECRET:-}" ] && [ -z "${WSA_RELAY_SECRET_FILE:-}" ]; then
    if [ ! -s var/secret ]; then
        # 32 random bytes as 64 hex digits, with coreutils alone
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >var/secret)
    fi
    WSA_RELAY_SECRET_FILE=$PWD/var/secret
    export WSA_RELAY_SECRET_FILE
fi
WSA_RELAY_DB=${WSA_RELAY_DB:-$PWD/var/quickstart.db}
WSA_RELAY_LISTEN=${WSA_RELAY_LISTEN:-127.0.0.1:9090}
export WSA_RELAY_DB WSA_RELAY_LISTEN

echo "== loading the bundled sample logs into $WSA_RELAY_DB"
./build/wsa-relay ingest tests/data/*.log

token=$(./build/wsa-relay token --ttl 86400)
url=http://$WSA_RELAY_LISTEN
cat <<MSG

== wsa-relay is starting on $url (Ctrl-C stops it). Try, from another terminal:

curl -s -H 'Authorization: Bearer $token' -d '[{"type":"ip","value":"172.18.32.70"}]' $url/observe/observables

curl -s -H 'Authorization: Bearer $token' -d '[{"type":"sha256","value":"fd5ef49d4213e05f448f11ed9c98253d85829614fba368a421d14e64c556da5e"}]' $url/deliberate/observables

(the token is valid for 24 hours; ./build/wsa-relay token mints another, with the same secret
 settings: WSA_RELAY_SECRET_FILE=$PWD/var/secret unless you set your own)
(the sample logs are from 2020-2022: start with WSA_RELAY_VERDICT_DAYS=36500 to see their verdicts)

MSG
exec ./build/wsa-relay serve
