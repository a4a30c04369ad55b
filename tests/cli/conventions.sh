#!/usr/bin/env bash
# CLI conventions (issue 12): --version and --help on every program and
# subcommand (no configuration needed), strict numeric options, session ids
# refused rather than rewritten, man pages that format cleanly, a bash
# completion file that parses.
. "$(dirname "$0")/../lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$WORK"

for b in tss-coordinator tss-party tssctl tss-keystore tss-demo tss-bench tss-gateway; do
    expect_exit 0 "$b --version" "$BUILD/$b" --version
    expect_match "$b --version names the release" "$OUT" "^$b tssd/[0-9]+\.[0-9]+\.[0-9]+"
    expect_exit 0 "$b --help" "$BUILD/$b" --help
done
for c in status keygen sign sign-tx sign-typed-data sign-authorization presign keys; do
    expect_exit 0 "tssctl $c --help works without a configuration" "$BUILD/tssctl" "$c" --help
    expect_match "tssctl $c --help prints the usage" "$OUT" "tssctl --config FILE $c"
done
expect_exit 0 "tssctl address --help works without a configuration" "$BUILD/tssctl" address --help
expect_match "tssctl address --help prints the usage" "$OUT" "tssctl \[--config FILE\] address"
expect_exit 0 "tssctl policy --help" "$BUILD/tssctl" policy --help
expect_match "tssctl policy --help prints the usage" "$OUT" "tssctl policy check POLICY.yaml"
for c in typed-data-hash tx-hash; do
    expect_exit 0 "tssctl $c --help" "$BUILD/tssctl" "$c" --help
    expect_match "tssctl $c --help prints the usage" "$OUT" "tssctl $c FILE.json"
done
for c in approver-keygen approve approval; do
    expect_exit 0 "tssctl $c --help" "$BUILD/tssctl" "$c" --help
    expect_match "tssctl $c --help prints the usage" "$OUT" "tssctl $c "
done
for c in init inspect identity verify passwd salvage-log; do
    expect_exit 0 "tss-keystore $c --help works without other options" "$BUILD/tss-keystore" "$c" --help
done

# tss-demo: numbers parsed strictly, exit 64 naming the option.
expect_exit 64 "tss-demo --n three" "$BUILD/tss-demo" --n three
expect_match "tss-demo --n three: names the option" "$ERR" "--n: 'three' is not a whole number"
expect_exit 64 "tss-demo --k 2x" "$BUILD/tss-demo" --k 2x
expect_match "tss-demo --k 2x: names the option" "$ERR" "--k: '2x' is not a whole number"
expect_exit 64 "tss-demo --n overflow" "$BUILD/tss-demo" --n 99999999999999999999999
expect_exit 64 "tss-demo --n '' " "$BUILD/tss-demo" --n ""
expect_exit 64 "MPC_TOTAL_PARTIES=3x" env MPC_TOTAL_PARTIES=3x "$BUILD/tss-demo"
expect_match "MPC_TOTAL_PARTIES=3x: names the variable" "$ERR" "MPC_TOTAL_PARTIES: '3x'"
expect_exit 64 "tss-demo k > n" "$BUILD/tss-demo" --n 2 --k 3
expect_exit 64 "tss-demo --session ../x refused" "$BUILD/tss-demo" --session ../x
expect_match "--session ../x: says why" "$ERR" "names a directory"
[ ! -e "$WORK/x" ] && [ ! -e "$WORK/state" ] && ok "--session ../x created nothing" || not_ok "--session ../x created nothing"
expect_exit 64 "tss-demo --session .. refused" "$BUILD/tss-demo" --session ..
expect_exit 64 "tss-demo unknown option" "$BUILD/tss-demo" --bogus
expect_match "tss-demo unknown option named" "$ERR" "'--bogus'"
expect_exit 64 "tss-demo bad port in MPC_TSS_COORDINATOR_URL" env MPC_TSS_COORDINATOR_URL=127.0.0.1:99999 "$BUILD/tss-demo"

# Man pages: every installed program has one and it formats without warnings.
for m in tssctl.1 tss-keystore.1 tss-coordinator.8 tss-party.8 tss-gateway.8; do
    f=$ROOT/docs/man/$m
    if [ -f "$f" ] && out=$(groff -man -ww -z "$f" 2>&1) && [ -z "$out" ]; then ok "man page $m formats cleanly"
    else not_ok "man page $m formats cleanly" "$out"; fi
done
bash -n "$ROOT/packaging/bash-completion/tssd" && ok "bash completion parses" || not_ok "bash completion parses"
out=$(bash -c ". '$ROOT/packaging/bash-completion/tssd'; COMP_WORDS=(tssctl --config c.yaml si); COMP_CWORD=3; _tssd_tssctl; echo \${COMPREPLY[*]}" 2>&1)
expect_match "bash completion: tssctl subcommands" "$out" '(^| )sign( |$)'
expect_match "bash completion: tssctl sign-typed-data and sign-authorization" "$out" 'sign-typed-data.*sign-authorization'

# The configuration reference is generated from the schema tables: complete and current.
expect_exit 0 "tssctl config-reference --check: every key described, no stale description" \
    "$BUILD/tssctl" config-reference --check
"$BUILD/tssctl" config-reference > "$WORK/CONFIG.md" 2>&1
if cmp -s "$WORK/CONFIG.md" "$ROOT/docs/CONFIG.md"; then ok "docs/CONFIG.md is current"
else not_ok "docs/CONFIG.md is current" "regenerate: build/tssctl config-reference > docs/CONFIG.md" \
    "$(diff "$ROOT/docs/CONFIG.md" "$WORK/CONFIG.md" | head -n 10)"; fi

finish
