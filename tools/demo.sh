#!/usr/bin/env bash
# `make demo`: runs build/tss-demo (cli/tss-demo), the seed-compatible demo:
# CA and certificates, sealed keystores, a coordinator and N parties over
# mutual TLS on loopback, distributed keygen, threshold signing of the message
# and its verification, state/<session>/aggregated.json. Arguments and the
# MPC_* environment variables are passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
exec build/tss-demo --message "${MPC_TSS_MESSAGE:-hello from tssd}" "$@"
