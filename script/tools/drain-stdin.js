// Copies all of stdin into the file named by argv[2], retrying on EAGAIN (forge may pass a
// non-blocking stdin to solc). Used by script/tools/solc.
const fs = require("fs");
const buf = Buffer.alloc(1 << 16);
const parts = [];
const nap = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  let n;
  try {
    n = fs.readSync(0, buf, 0, buf.length, null);
  } catch (e) {
    if (e.code === "EAGAIN") { Atomics.wait(nap, 0, 0, 5); continue; }
    if (e.code === "EOF") break;
    throw e;
  }
  if (n === 0) break;
  parts.push(Buffer.from(buf.subarray(0, n)));
}
fs.writeFileSync(process.argv[2], Buffer.concat(parts));
