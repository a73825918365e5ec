#!/bin/sh
# Fails when a C source or header differs from what clang-format makes of it.
set -eu
fmt=${1:-clang-format}
status=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find include service handlers tests bench -name '*.[ch]'); do
    if ! "$fmt" --style=file "$f" | cmp -s - "$f"; then
        echo "not formatted: $f (run: $fmt -i $f)"
        status=1
    fi
done
exit $status
