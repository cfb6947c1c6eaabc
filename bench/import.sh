#!/usr/bin/env bash
# Times `switchboard import restcomm` on a generated mysqldump of COUNT Restcomm accounts
# (default 1,000,000), into a new SQLite file, with a release build: the contract asks for a
# million accounts in under 60 seconds. Prints the dump's size, the import's wall time and
# its peak memory, then the summary the command printed.
#
# Settings (environment): COUNT (1000000), KEEP=1 keeps the work folder for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-1000000}
say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

say "building the release binary and the dump generator"
cargo build --release --quiet --bin switchboard --example restcomm_dump

work=$(mktemp -d)
if [ "${KEEP:-0}" != 1 ]; then
  trap 'rm -rf "$work"' EXIT
fi

say "writing a mysqldump of $COUNT accounts"
target/release/examples/restcomm_dump "$COUNT" > "$work/restcomm.sql"
say "dump: $(du -h "$work/restcomm.sql" | cut -f1)"

say "importing"
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/peak_kib" \
  target/release/switchboard --db "$work/switchboard.db" import restcomm "$work/restcomm.sql" \
  > "$work/summary"
end=$(date +%s.%N)

seconds=$(python3 -c "print(f'{$end - $start:.1f}')")
peak_mib=$(( $(cat "$work/peak_kib") / 1024 ))
echo "imported $COUNT Restcomm accounts in ${seconds} s (peak memory ${peak_mib} MiB), database $(du -h "$work/switchboard.db" | cut -f1)"
cat "$work/summary"
if [ "${KEEP:-0}" = 1 ]; then
  say "kept $work"
fi
