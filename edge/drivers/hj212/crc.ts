// The HJ 212 CRC: over the data segment only, start 0xFFFF, for each byte crc = (crc >> 8) ^ byte, then eight
// reflected shifts with 0xA001. It differs from CRC-16/MODBUS (which XORs the byte into the low byte instead), so
// MODBUS code gives 0759 for the standard's own example where HJ 212 gives 1C80.
//
// The eight shifts depend only on the low byte of crc, so they collapse into one table lookup:
// shift8(c) = (c >> 8) ^ TABLE[c & 0xFF].

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC of bytes [start, end) of buf (the data segment of a frame). */
export function hj212Crc(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc = (crc >>> 8) ^ buf[i]!;
    crc = (crc >>> 8) ^ TABLE[crc & 0xff]!;
  }
  return crc;
}

/** The CRC as the frame prints it: 4 upper-case hex digits. */
export function crcHex(data: Uint8Array | string): string {
  const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return hj212Crc(b).toString(16).toUpperCase().padStart(4, '0');
}
