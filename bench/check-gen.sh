#!/bin/sh
# The generator's quick test: exact line count, the same lines for the same seed, times
# that never go back, every shape the parser takes, and an ingest that accounts for every
# line with nothing rejected or skipped.
# usage: bench/check-gen.sh WSA_GEN WSA_RELAY
set -eu
gen=$1 relay=$2
work=$(mktemp -d /tmp/wsa-check-gen.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-gen: $*" >&2; exit 1; }

n=3000
"$gen" --lines $n --seed 42 --start 1750000000 --rate 500 >"$work/a.log"
"$gen" --lines $n --seed 42 --start 1750000000 --rate 500 >"$work/b.log"
"$gen" --lines $n --seed 43 --start 1750000000 --rate 500 >"$work/c.log"
[ "$(wc -l <"$work/a.log")" -eq $n ] || fail "expected $n lines, got $(wc -l <"$work/a.log")"
cmp -s "$work/a.log" "$work/b.log" || fail "the same seed gave different lines"
! cmp -s "$work/a.log" "$work/c.log" || fail "seeds 42 and 43 gave the same lines"
[ "$("$gen" --lines 0 | wc -c)" -eq 0 ] || fail "--lines 0 wrote something"

# The epoch is the first token of the form digits.3digits; 3000 lines at 500/s span about
# 6 s of log time from the start.
awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9][0-9][0-9]$/) { t = $i + 0; break }
       if (NR == 1 && t < 1750000000) { print "first time " t " before the start"; exit 1 }
       if (t < prev) { print "time goes back at line " NR; exit 1 }
       prev = t }
     END { if (prev < 1750000003 || prev > 1750000009) { print "last time " prev; exit 1 } }' \
    "$work/a.log" || fail "times not increasing from the start"

# Every shape: grep -c counts lines; each must occur at least once.
shape() {
    c=$(grep -c -E -- "$2" "$work/a.log" || true)
    [ "$c" -gt 0 ] || fail "no line with $1 (/$2/)"
}
shape "syslog header and Info:" '^<13>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ accesslogs: Info: [0-9]'
shape "syslog header without Info:" '^<134>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ accesslogs: [0-9]'
shape "bare Info:" '^Info: [0-9]'
shape "a bare line" '^[0-9]{10}\.[0-9]{3} '
shape "CONNECT tunnel://" ' CONNECT tunnel://[^ ]+:443/ '
shape "TCP_CONNECT ip:port" ' TCP_CONNECT [0-9.]+:443 '
shape "an IPv4 client" '^[^<]*[0-9]{3} [0-9]+ 10\.[0-9.]+ |accesslogs: (Info: )?[0-9.]+ [0-9]+ 10\.'
shape "an IPv6 client" ' [0-9]+ 2001:db8:[0-9a-f:]+ [A-Z_]+/'
shape "a quoted DOMAIN\\name@realm user" ' "CORP\\[a-z.0-9]+@CorpNTLM" '
shape "a user with a realm, unquoted" ' [a-z]+[0-9]+@LDAPRealm '
shape "custom fields before the ACL" ' CMF:[0-9]+ DCF:[0-9]+ ERR:[0-9]+ [A-Z_]+'
shape "custom fields after the block" '> - -$'
shape "a user agent and XFF after the block" '> [^ ]+ "Mozilla/5.0 [^"]*" '
for f in 15 17 32 38 43 44 45; do
    c=$(awk -v want=$f '{ s = $0; sub(/^[^<]*<[0-9]+>/, "", s); i = index(s, " <"); if (!i) next
        b = substr(s, i + 2); j = index(b, ">"); b = substr(b, 1, j - 1)
        # count commas outside quotes
        n = 1; q = 0
        for (k = 1; k <= length(b); k++) { ch = substr(b, k, 1)
            if (ch == "\"") q = !q; else if (ch == "," && !q) n++ }
        if (n == want) c++ } END { print c + 0 }' "$work/a.log")
    [ "$c" -gt 0 ] || fail "no verdict block of $f fields"
done
shape "an ACL string of 6 parts" ' [A-Z_0-9]+-[A-Za-z_]+-[A-Za-z_]+-NONE-NONE-DefaultRouting <'
shape "an ACL string of 8 parts" ' [A-Z_0-9]+-[A-Za-z_]+-[A-Za-z_]+-[A-Za-z_]+-NONE-NONE-DefaultGroup-NONE <'
shape "a monitored decision" ' MONITOR_[A-Z_]+_[0-9]+-'
shape "a blocked decision" ' TCP_DENIED/403 [0-9]+ [A-Z]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ BLOCK_(WEBCAT|WBRS|ADMIN)'
shape "a warning page" ' BLOCK_CONTINUE_WEBCAT_'
shape "an error" ' NONE/504 0 .* OTHER_'
shape "an AMP malware block with its SHA-256" 'BLOCK_AMP_RESP_.*,(37|4),"[^"]+",[0-9]+,0,"[^"]+","[0-9a-f]{64}"'
shape "a clean file with its SHA-256" ',0,"-",0,[01],"[^"]+","[0-9a-f]{64}"'
shape "a shared hosting name" '\.(cloudfront\.net|github\.io|blogspot\.com|azurewebsites\.net)[:/ ]'
shape "a registered domain under co.uk" '\.co\.uk[:/ ]'

# Bad options are refused with status 2.
for bad in "--format w3c" "--lines -1" "--lines 12x" "--rate 0" "--start soon" "--seed"; do
    # shellcheck disable=SC2086
    if "$gen" $bad >/dev/null 2>"$work/err"; then fail "accepted $bad"; else rc=$?; fi
    [ "$rc" -eq 2 ] || fail "$bad: status $rc, expected 2"
    [ -s "$work/err" ] || fail "$bad: no message"
done

out=$(WSA_RELAY_LOG_LEVEL=warn "$relay" ingest --db "$work/t.db" "$work/a.log")
set -- $(echo "$out" | sed -n 's/^read=\([0-9]*\) stored=\([0-9]*\) warned=\([0-9]*\) rejected=\([0-9]*\) skipped=\([0-9]*\)$/\1 \2 \3 \4 \5/p')
[ $# -eq 5 ] || fail "no counts from wsa-relay ingest: $out"
[ "$1" -eq $n ] || fail "ingest read $1 lines, expected $n"
[ $(($2 + $3 + $4 + $5)) -eq "$1" ] || fail "ingest does not account for every line: $out"
[ "$4" -eq 0 ] && [ "$5" -eq 0 ] || fail "generated lines rejected or skipped: $out"
echo "check-gen: $n lines, every shape, ingest: $out"
