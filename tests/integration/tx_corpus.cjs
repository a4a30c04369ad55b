// node tx_corpus.cjs ETHERS_DIR OUT_DIR COUNT SEED
// Writes COUNT random transactions of types 0-4 as tssctl transaction files
// OUT_DIR/tx-N.json, and OUT_DIR/expected.txt with one line per case:
//   N signingHash unsignedSerialized rsvSignature signedSerialized from
// all computed by ethers v6 (Transaction: unsignedHash, unsignedSerialized,
// serialized; a random Wallet signs). Values range over 0, small, and the
// field's maximum (2^64-1 for nonce/gas/chainId, 2^256-1 for value and fees),
// data of 0..300 bytes, access lists of 0..3 entries, 1..6 blob hashes, 1..3
// EIP-7702 authorizations really signed by random authorities (chain id 0
// included).
"use strict";
const fs = require("fs");
const path = require("path");
const [ethersDir, outDir, countArg, seedArg] = process.argv.slice(2);
const { ethers } = require(ethersDir);

let seed = Number(seedArg) >>> 0;
function rnd() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];
const bytes = (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = ri(256); return b; };
const hex = (n) => ethers.hexlify(bytes(n));
const randBig = (bits) => { let v = 0n; for (let i = 0; i < bits; i += 8) v = (v << 8n) | BigInt(ri(256)); return v; };
const qty = (bits) => pick([0n, 1n, BigInt(ri(1000000)), (1n << BigInt(bits)) - 1n, randBig(bits) >> BigInt(ri(bits))]);
const nonzero = (bits) => { const v = qty(bits); return v === 0n ? 1n : v; };
// JSON form of a quantity: integer, decimal string or hex string.
const jq = (v) => (v <= 9007199254740991n && ri(2)) ? Number(v) : ri(2) ? v.toString() : "0x" + v.toString(16);
const wallet = () => new ethers.Wallet(ethers.hexlify(bytes(31)).replace("0x", "0x01"));

function makeCase() {
  const type = ri(5);
  const chainId = nonzero(64);
  // ethers holds a transaction nonce as a JS number: at most 2^53-1 here.
  const t = { type, chainId, nonce: pick([0n, 1n, BigInt(ri(1000)), 9007199254740991n]), gasLimit: qty(64), value: qty(256) };
  if (type >= 3 || ri(5)) t.to = ri(2) ? ethers.getAddress(hex(20)) : hex(20);
  const dlen = pick([0, 0, 1, 4, 36, 56, 300]);
  t.data = hex(dlen);
  if (type <= 1) t.gasPrice = qty(256);
  else {
    t.maxFeePerGas = qty(256);
    t.maxPriorityFeePerGas = t.maxFeePerGas === 0n ? 0n : randBig(256) % (t.maxFeePerGas + 1n);
  }
  if (type >= 1) {
    t.accessList = [];
    for (let i = ri(4); i > 0; i--) {
      const keys = [];
      for (let k = ri(3); k > 0; k--) keys.push(hex(32));
      t.accessList.push({ address: ethers.getAddress(hex(20)), storageKeys: keys });
    }
  }
  if (type === 3) {
    t.maxFeePerBlobGas = qty(256);
    t.blobVersionedHashes = [];
    for (let i = 1 + ri(6); i > 0; i--) t.blobVersionedHashes.push("0x01" + hex(31).slice(2));
  }
  if (type === 4) {
    t.authorizationList = [];
    for (let i = 1 + ri(3); i > 0; i--) {
      const a = { address: ethers.getAddress(hex(20)), nonce: qty(64), chainId: pick([0n, chainId, qty(256)]) };
      const sig = wallet().signingKey.sign(ethers.hashAuthorization(a));
      t.authorizationList.push({ ...a, signature: sig });
    }
  }
  // The tssctl file (our field names, mixed quantity forms).
  const file = { type: jq(BigInt(type)), chainId: jq(chainId), nonce: jq(t.nonce), gasLimit: jq(t.gasLimit) };
  if (t.to !== undefined) file.to = t.to; else if (ri(2)) file.to = null;
  if (t.value !== 0n || ri(2)) file.value = jq(t.value);
  if (dlen || ri(2)) file.data = t.data;
  for (const k of ["gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "maxFeePerBlobGas"])
    if (t[k] !== undefined) file[k] = jq(t[k]);
  if (t.accessList && (t.accessList.length || type === 1 || ri(2))) file.accessList = t.accessList;
  if (t.blobVersionedHashes) file.blobVersionedHashes = t.blobVersionedHashes;
  if (t.authorizationList)
    file.authorizationList = t.authorizationList.map((a) => ({ chainId: jq(a.chainId), address: a.address,
      nonce: jq(a.nonce), yParity: a.signature.yParity, r: a.signature.r, s: a.signature.s }));

  const tx = ethers.Transaction.from({ ...t, data: t.data });
  const signer = wallet();
  const sig = signer.signingKey.sign(tx.unsignedHash);
  const signed = tx.clone();
  signed.signature = sig;
  return { file, line: [tx.unsignedHash, tx.unsignedSerialized, sig.serialized, signed.serialized, signer.address].join(" ") };
}

fs.mkdirSync(outDir, { recursive: true });
const lines = [];
for (let i = 0; i < Number(countArg); i++) {
  const { file, line } = makeCase();
  fs.writeFileSync(path.join(outDir, `tx-${i}.json`), JSON.stringify(file, (k, v) => typeof v === "bigint" ? v.toString() : v));
  lines.push(`${i} ${line}`);
}
fs.writeFileSync(path.join(outDir, "expected.txt"), lines.join("\n") + "\n");
