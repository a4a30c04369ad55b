// ethers v6 and viem as real clients of tss-gateway (run by gateway.sh).
// ethers authenticates with a client certificate (urn:tssd:client:wallet)
// through an https.Agent; viem with a bearer token through fetch (the
// gateway's CA comes from NODE_EXTRA_CA_CERTS). Each line printed is
// "ok NAME" or "not ok NAME: detail"; the script never throws past main.
import https from 'node:https';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const env = process.env;
const require = createRequire(env.NPM_DIR + '/node_modules/');
const ethers = require('ethers');
const viem = require('viem');
const viemAccounts = require('viem/accounts');

const URL_ = env.GW_URL, ADDR = env.ADDR, CHAIN = Number(env.CHAIN_ID);
let failed = 0;
const ok = (n) => console.log(`ok ${n}`);
const bad = (n, d) => { failed++; console.log(`not ok ${n}: ${d}`); };
const check = (n, cond, d) => (cond ? ok(n) : bad(n, d));
async function step(name, fn) {
  try { await fn(); } catch (e) {
    const rpc = e && (e.info || e.error) ? ` (${JSON.stringify(e.info || e.error).slice(0, 400)})` : "";
    bad(name, ((e && (e.shortMessage || e.message)) || String(e)) + rpc);
  }
}

// ---- ethers v6 with a client certificate ------------------------------------------------------
const agent = new https.Agent({
  ca: fs.readFileSync(env.CA), cert: fs.readFileSync(env.CLIENT_CERT),
  key: fs.readFileSync(env.CLIENT_KEY), keepAlive: true,
});
const fr = new ethers.FetchRequest(URL_);
fr.getUrlFunc = ethers.FetchRequest.createGetUrlFunc({ agent });
const provider = new ethers.JsonRpcProvider(fr, CHAIN, { staticNetwork: true, batchMaxCount: 1 });

const to = '0x000000000000000000000000000000000000dEaD';
await step('ethers: eth_accounts', async () => {
  const accts = await provider.send('eth_accounts', []);
  check('ethers: eth_accounts lists the key address', accts.length === 1 && accts[0] === ADDR,
        JSON.stringify(accts));
});
await step('ethers: signMessage', async () => {
  const signer = await provider.getSigner(ADDR);
  const msg = 'hello from ethers through tss-gateway';
  const sig = await signer.signMessage(msg);
  check('ethers: signMessage recovers the key address', ethers.verifyMessage(msg, sig) === ADDR, sig);
});
await step('ethers: signTransaction type 2', async () => {
  const signer = await provider.getSigner(ADDR);
  const raw = await signer.signTransaction({
    type: 2, chainId: CHAIN, nonce: 7, to, value: 10n ** 15n, gasLimit: 21000n,
    maxFeePerGas: 30n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n, data: '0x1234',
  });
  const tx = ethers.Transaction.from(raw);
  check('ethers: type-2 transaction parsed back, from = key address', tx.type === 2 && tx.from === ADDR,
        `type ${tx.type} from ${tx.from}`);
  check('ethers: type-2 fields kept', tx.nonce === 7 && tx.to === to && tx.value === 10n ** 15n &&
        tx.gasLimit === 21000n && tx.maxFeePerGas === 30n * 10n ** 9n && tx.data === '0x1234' &&
        tx.chainId === BigInt(CHAIN), JSON.stringify(tx.toJSON()));
});
await step('ethers: signTransaction type 0', async () => {
  const signer = await provider.getSigner(ADDR);
  const raw = await signer.signTransaction({
    type: 0, chainId: CHAIN, nonce: 0, to, value: 1n, gasLimit: 21000n, gasPrice: 2n * 10n ** 9n,
  });
  const tx = ethers.Transaction.from(raw);
  check('ethers: legacy EIP-155 transaction parsed back, from = key address',
        tx.type === 0 && tx.from === ADDR && tx.chainId === BigInt(CHAIN) && tx.gasPrice === 2n * 10n ** 9n,
        `type ${tx.type} from ${tx.from} chain ${tx.chainId}`);
});
// EIP-712 (when the build has eth/eip712.h; gateway.sh sets TYPED=1).
const domain = { name: 'Ether Mail', version: '1', chainId: CHAIN,
  verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' };
const mailTypes = {
  Person: [{ name: 'name', type: 'string' }, { name: 'wallet', type: 'address' }],
  Mail: [{ name: 'from', type: 'Person' }, { name: 'to', type: 'Person' }, { name: 'contents', type: 'string' }],
};
const mail = {
  from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
  to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
  contents: 'Hello, Bob!',
};
if (env.TYPED === '1') {
  await step('ethers: signTypedData', async () => {
    const signer = await provider.getSigner(ADDR);
    const sig = await signer.signTypedData(domain, mailTypes, mail);
    check('ethers: signTypedData (EIP-712 Mail) recovers the key address',
          ethers.verifyTypedData(domain, mailTypes, mail, sig) === ADDR, sig);
  });
}
// Transaction types 1, 3 (no blobs) and 4 (when eth/tx.h has them; TXTYPES=1).
if (env.TXTYPES === '1') {
  const authority = ethers.Wallet.createRandom();
  const auth = await authority.authorize({ address: to, nonce: 0, chainId: CHAIN });
  for (const [label, req] of [
    ['type 1', { type: 1, chainId: CHAIN, nonce: 1, to, value: 2n, gasLimit: 30000n, gasPrice: 10n ** 9n,
      accessList: [{ address: to, storageKeys: ['0x' + '00'.repeat(31) + '01'] }] }],
    ['type 4', { type: 4, chainId: CHAIN, nonce: 3, to, value: 0n, gasLimit: 60000n,
      maxFeePerGas: 2n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n, authorizationList: [auth] }],
  ]) {
    await step(`ethers: signTransaction ${label}`, async () => {
      const signer = await provider.getSigner(ADDR);
      const raw = await signer.signTransaction(req);
      const tx = ethers.Transaction.from(raw);
      check(`ethers: ${label} transaction parsed back, from = key address`,
            tx.type === req.type && tx.from === ADDR && tx.nonce === req.nonce, `type ${tx.type} from ${tx.from}`);
    });
  }
  // Type 3: ethers' JsonRpcSigner drops maxFeePerBlobGas, so send the
  // JSON-RPC object as any client would and parse the answer with ethers.
  await step('json-rpc: signTransaction type 3', async () => {
    const raw = await provider.send('eth_signTransaction', [{
      from: ADDR, type: '0x3', chainId: ethers.toQuantity(CHAIN), nonce: '0x2', to, value: '0x0',
      gas: '0x7530', maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x3b9aca00',
      maxFeePerBlobGas: '0x3b9aca00', blobVersionedHashes: ['0x01' + '11'.repeat(31)] }]);
    const tx = ethers.Transaction.from(raw);
    check('type 3 (no blobs) transaction parsed back by ethers, from = key address',
          tx.type === 3 && tx.from === ADDR && tx.maxFeePerBlobGas === 10n ** 9n &&
          tx.blobVersionedHashes.length === 1, `type ${tx.type} from ${tx.from}`);
  });
}
agent.destroy();

// ---- viem with a bearer token ------------------------------------------------------------------
const chain = viem.defineChain({
  id: CHAIN, name: 'tssd-test', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [URL_] } },
});
const transport = viem.http(URL_, { fetchOptions: { headers: { Authorization: `Bearer ${env.TOKEN}` } } });
const wallet = viem.createWalletClient({ account: ADDR, chain, transport });
await step('viem: getAddresses', async () => {
  const a = await wallet.getAddresses();
  check('viem: eth_accounts lists the key address', a.length === 1 && a[0] === ADDR, JSON.stringify(a));
});
await step('viem: signMessage', async () => {
  const message = 'hello from viem through tss-gateway';
  const signature = await wallet.signMessage({ message });
  const rec = await viem.recoverMessageAddress({ message, signature });
  check('viem: signMessage recovers the key address', rec === ADDR, rec);
});
for (const [label, req] of [
  ['eip1559', { type: 'eip1559', nonce: 3, to, value: 5n, gas: 21000n, maxFeePerGas: 2n * 10n ** 9n,
    maxPriorityFeePerGas: 10n ** 9n }],
  ['legacy', { type: 'legacy', nonce: 4, to, value: 6n, gas: 21000n, gasPrice: 3n * 10n ** 9n }],
]) {
  await step(`viem: signTransaction ${label}`, async () => {
    const raw = await wallet.signTransaction(req);
    const from = await viem.recoverTransactionAddress({ serializedTransaction: raw });
    const tx = viem.parseTransaction(raw);
    check(`viem: ${label} transaction parsed back, from = key address`,
          from === ADDR && tx.type === req.type && tx.nonce === req.nonce && tx.value === req.value &&
          tx.chainId === CHAIN, `from ${from} type ${tx.type} nonce ${tx.nonce}`);
  });
}
if (env.TYPED === '1') {
  await step('viem: signTypedData', async () => {
    const signature = await wallet.signTypedData({ domain, types: mailTypes, primaryType: 'Mail', message: mail });
    const rec = await viem.recoverTypedDataAddress({ domain, types: mailTypes, primaryType: 'Mail',
      message: mail, signature });
    check('viem: signTypedData (EIP-712 Mail) recovers the key address', rec === ADDR, rec);
  });
}
void viemAccounts;
console.log(`clients: ${failed} failed`);
process.exit(failed ? 1 : 0);
