#!/usr/bin/env bash
# tssctl approver-keygen / approve / approval show: the real binary, real
# sealed files (Argon2id "interactive" profile to stay fast).
. "$(dirname "$0")/../lib.sh"
T=$BUILD/tssctl
cd "$WORK"
printf 'correct horse battery staple\n' > pass; chmod 600 pass
printf 'wrong\n' > wrong; chmod 600 wrong
H=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

expect_exit 0 "approver-keygen seals a key" $T approver-keygen --name alice --out keys --kdf interactive --passphrase-file pass
expect_match "prints the pin for approvals.approvers" "$OUT" '^      public_key: ed25519:[A-Za-z0-9+/]{43}=$'
expect_match "prints the name" "$OUT" '^    - name: alice$'
[ "$(stat -c %a keys)" = 700 ] && [ "$(stat -c %a keys/alice.approver)" = 600 ] && ok "modes 0700/0600" || not_ok "modes 0700/0600" "$(stat -c '%n %a' keys keys/alice.approver)"
expect_exit 73 "keygen never overwrites a key" $T approver-keygen --name alice --out keys --kdf interactive --passphrase-file pass
expect_exit 64 "keygen refuses a bad name" $T approver-keygen --name 'al/ice' --out keys --passphrase-file pass
expect_exit 64 "keygen refuses two passphrase sources" $T approver-keygen --name bob --out keys --passphrase-file pass --passphrase-fd 0

expect_exit 0 "approve writes an approval" $T approve --key keys/alice.approver --passphrase-file pass --key-id treasury --request-hash "$H" --expires-in 15m --out a.json
A=$(cat a.json)
expect_match "approval names approver, key, request" "$A" "\"approver\":\"alice\",\"keyId\":\"treasury\",\"requestHash\":\"$H\""
now=$(date +%s); exp=$(printf '%s' "$A" | sed -E 's/.*"expires":([0-9]+).*/\1/')
[ "$exp" -ge $((now + 890)) ] && [ "$exp" -le $((now + 910)) ] && ok "expires in 15 minutes" || not_ok "expires in 15 minutes" "now=$now expires=$exp"
expect_exit 0 "a second approval of the same request" $T approve --key keys/alice.approver --passphrase-file pass --key-id treasury --request-hash "$H"
n1=$(printf '%s' "$A" | sed -E 's/.*"nonce":"([0-9a-f]+)".*/\1/'); n2=$(printf '%s' "$OUT" | sed -E 's/.*"nonce":"([0-9a-f]+)".*/\1/')
[ -n "$n1" ] && [ "$n1" != "$n2" ] && ok "each approval has a fresh nonce" || not_ok "each approval has a fresh nonce" "$n1 $n2"
expect_exit 73 "approve never overwrites --out" $T approve --key keys/alice.approver --passphrase-file pass --key-id treasury --request-hash "$H" --out a.json
expect_exit 0 "approval show decodes it" $T approval show a.json
[ "$OUT" = "$A" ] && ok "show prints the same approval" || not_ok "show prints the same approval" "$OUT"

expect_exit 77 "wrong passphrase refused" $T approve --key keys/alice.approver --passphrase-file wrong --key-id treasury --request-hash "$H"
cp keys/alice.approver keys/bob.approver
expect_exit 65 "a key file renamed to another approver is refused" $T approve --key keys/bob.approver --passphrase-file pass --key-id treasury --request-hash "$H"
expect_match "says which name is sealed inside" "$ERR" 'sealed inside \(alice\)'
chmod 640 keys/alice.approver
expect_exit 77 "a group-readable key is refused" $T approve --key keys/alice.approver --passphrase-file pass --key-id treasury --request-hash "$H"
chmod 600 keys/alice.approver
expect_exit 64 "--request-hash must be 32 bytes" $T approve --key keys/alice.approver --passphrase-file pass --key-id treasury --request-hash abcd
expect_exit 64 "--expires-in is bounded" $T approve --key keys/alice.approver --passphrase-file pass --key-id treasury --request-hash "$H" --expires-in 31d

sed 's/"keyId":"treasury"/"keyId":"hot"/' a.json > lie.json
expect_exit 65 "readable fields that disagree with the signed approval" $T approval show lie.json
sed 's/"format":"tssd-approval-v1"/"format":"x"/' a.json > notone.json
expect_exit 65 "a file of another format" $T approval show notone.json

# The approver key has the mnemonic's format version: the party's keystore must not take it.
mkdir -m 700 ks && cp keys/alice.approver ks/mnemonic.sealed
expect_exit 65 "a party keystore refuses an approver key as its mnemonic" $BUILD/tss-keystore verify --dir ks --passphrase-file pass
finish
