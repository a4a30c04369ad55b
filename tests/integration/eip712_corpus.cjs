// node eip712_corpus.cjs ETHERS_DIR OUT_DIR COUNT SEED
// Writes COUNT random EIP-712 typed-data documents OUT_DIR/td-N.json and
// OUT_DIR/expected.txt ("N digest" per line, digest = ethers v6
// TypedDataEncoder.hash). The type graphs are random DAGs of 1..6 structs
// (every struct reachable from the primary type, as ethers requires), fields
// of every elementary kind (uint8..256, int8..256, bytes1..32, bytes, string,
// bool, address), struct references, and arrays of up to 3 dimensions mixing
// [] and [k]; values hit the range limits; the domain is a random subset of
// the five EIP712Domain fields, declared in types or left to inference.
"use strict";
const fs = require("fs");
const path = require("path");
const [ethersDir, outDir, countArg, seedArg] = process.argv.slice(2);
const { ethers } = require(ethersDir);

let seed = Number(seedArg) >>> 0;
function rnd() { // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];
const hex = (n) => { let s = ""; for (let i = 0; i < n; i++) s += ri(256).toString(16).padStart(2, "0"); return "0x" + s; };
const randBig = (bits) => { let v = 0n; for (let i = 0; i < bits; i += 8) v = (v << 8n) | BigInt(ri(256)); return v & ((1n << BigInt(bits)) - 1n); };

function ident(prefix) {
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$0123456789";
  let s = prefix;
  const n = 1 + ri(8);
  for (let i = 0; i < n; i++) s += chars[ri(chars.length)];
  return s;
}

function elementary() {
  switch (ri(8)) {
    case 0: return "uint" + 8 * (1 + ri(32));
    case 1: return "int" + 8 * (1 + ri(32));
    case 2: return "bytes" + (1 + ri(32));
    case 3: return "bytes";
    case 4: return "string";
    case 5: return "bool";
    case 6: return "address";
    default: return pick(["uint256", "int256", "uint8", "int8", "bytes32"]);
  }
}

function intValue(bits, signed) {
  const b = BigInt(bits);
  const lo = signed ? -(1n << (b - 1n)) : 0n, hi = signed ? (1n << (b - 1n)) - 1n : (1n << b) - 1n;
  let v;
  switch (ri(6)) {
    case 0: v = lo; break;
    case 1: v = hi; break;
    case 2: v = 0n; break;
    case 3: v = BigInt(ri(1000)) * (signed && ri(2) ? -1n : 1n); break;
    default: v = randBig(bits); if (signed) v -= 1n << (b - 1n);
  }
  if (v > hi) v = hi;
  if (v < lo) v = lo;
  // JSON form: a number when exact in a double, else a decimal or 0x-hex string.
  const abs = v < 0n ? -v : v;
  if (abs <= 9007199254740991n && ri(2)) return Number(v);
  if (ri(2)) return v.toString();
  return (v < 0n ? "-0x" : "0x") + abs.toString(16);
}

function stringValue() {
  const parts = ["", "a", "Hello, Bob!", "ünïcødé", "日本語", "😀", "\"quoted\"", "back\\slash", "tab\tnl\n", "\u0001ctl", "x".repeat(70)];
  let s = "";
  const n = ri(3);
  for (let i = 0; i < n; i++) s += pick(parts);
  return s;
}

function address() {
  const a = hex(20);
  return ri(2) ? ethers.getAddress(a) : a;
}

// value of a full type (with array suffixes)
function value(type, types) {
  const m = type.match(/^(.*)\[(\d*)\]$/);
  if (m) {
    const n = m[2] === "" ? ri(4) : Number(m[2]);
    const out = [];
    for (let i = 0; i < n; i++) out.push(value(m[1], types));
    return out;
  }
  if (types[type]) {
    const o = {};
    for (const f of types[type]) o[f.name] = value(f.type, types);
    return o;
  }
  let mm;
  if ((mm = type.match(/^(u?)int(\d+)$/))) return intValue(Number(mm[2]), mm[1] === "");
  if ((mm = type.match(/^bytes(\d+)$/))) return hex(Number(mm[1]));
  if (type === "bytes") return hex(ri(3) ? ri(70) : 0);
  if (type === "string") return stringValue();
  if (type === "bool") return ri(2) === 1;
  if (type === "address") return address();
  throw new Error("type " + type);
}

function arraySuffix() {
  let s = "";
  const dims = pick([0, 0, 0, 1, 1, 2, 3]);
  for (let i = 0; i < dims; i++) s += ri(2) ? "[]" : "[" + (1 + ri(3)) + "]";
  return s;
}

function makeCase() {
  const nStructs = 1 + ri(6);
  const names = [];
  while (names.length < nStructs) {
    const n = ident(pick(["S", "T", "Mail", "Person", "Z", "a", "_", "$"]));
    if (!names.includes(n) && n !== "EIP712Domain") names.push(n);
  }
  const types = {};
  for (const n of names) types[n] = [];
  const addField = (owner, type) => {
    let fname;
    do { fname = ident(pick(["f", "x", "to", "from", "amount", "_", "$"])); } while (types[owner].some((f) => f.name === fname));
    types[owner].push({ name: fname, type });
  };
  for (let i = 0; i < nStructs; i++) {
    const nf = 1 + ri(5);
    for (let k = 0; k < nf; k++) {
      // Struct refs only to later structs: acyclic.
      if (i + 1 < nStructs && ri(4) === 0) addField(names[i], names[i + 1 + ri(nStructs - i - 1)] + arraySuffix());
      else addField(names[i], elementary() + arraySuffix());
    }
    // Make struct i (i > 0) reachable from an earlier one.
    if (i > 0 && !names.slice(0, i).some((o) => types[o].some((f) => f.type.replace(/\[.*$/, "") === names[i])))
      addField(names[ri(i)], names[i] + arraySuffix());
  }
  // Shuffle fields' positions and key order of "types" (encodeType sorts, not the file).
  const message = value(names[0], types);
  const domain = {};
  const domainStd = [["name", "string"], ["version", "string"], ["chainId", "uint256"], ["verifyingContract", "address"], ["salt", "bytes32"]];
  const dfields = [];
  for (const [n, t] of domainStd) {
    if (!ri(3)) continue;
    dfields.push({ name: n, type: t });
    if (n === "name") domain.name = stringValue();
    else if (n === "version") domain.version = String(ri(10));
    else if (n === "chainId") domain.chainId = pick([1, 5, 137, "0x2105", "11155111", Number.MAX_SAFE_INTEGER]);
    else if (n === "verifyingContract") domain.verifyingContract = address();
    else domain.salt = hex(32);
  }
  const docTypes = {};
  const order = Object.keys(types).sort(() => rnd() - 0.5);
  const withDomainType = ri(2) === 1;
  if (withDomainType) docTypes.EIP712Domain = dfields;
  for (const n of order) docTypes[n] = types[n];
  const digest = ethers.TypedDataEncoder.hash(domain, types, message);
  return { doc: { types: docTypes, primaryType: names[0], domain, message }, digest };
}

fs.mkdirSync(outDir, { recursive: true });
const lines = [];
const count = Number(countArg);
for (let i = 0; i < count; i++) {
  const { doc, digest } = makeCase();
  fs.writeFileSync(path.join(outDir, `td-${i}.json`), JSON.stringify(doc));
  lines.push(`${i} ${digest}`);
}
fs.writeFileSync(path.join(outDir, "expected.txt"), lines.join("\n") + "\n");
