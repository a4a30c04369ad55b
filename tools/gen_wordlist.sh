#!/bin/sh
# Emit the BIP-39 English word list as C, after checking the file's sha256.
set -eu
list=$1 expected=$2
actual=$(sha256sum "$list" | cut -d' ' -f1)
if [ "$actual" != "$expected" ]; then
    echo "gen_wordlist: $list has sha256 $actual, expected $expected" >&2
    exit 1
fi
count=$(grep -c . "$list")
[ "$count" = 2048 ] || { echo "gen_wordlist: $list has $count words, expected 2048" >&2; exit 1; }
echo "/* Generated from $list (sha256 $expected). Do not edit. */"
echo '#include "keystore/bip39_wordlist.h"'
echo 'const char *const tss_bip39_english[2048] = {'
sed 's/.*/    "&",/' "$list"
echo '};'
