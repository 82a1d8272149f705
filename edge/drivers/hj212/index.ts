// The HJ 212-2017 driver of the edge agent: a TCP server for environmental monitors, and its pure parts (CRC,
// framing, parsing, answers, mapping) for tests and benchmarks.
export { hj212Crc, crcHex } from './crc.js';
export {
  FrameSplitter,
  decodeFrame,
  encodeFrame,
  KEEP_BYTES,
  MAX_POSSIBLE_FRAME,
  type SplitEvent,
  type DecodeResult,
} from './frame.js';
export {
  parseSegment,
  parseNumber,
  wantsAnswer,
  type Hj212Packet,
  type Hj212Factor,
  type ParseResult,
} from './packet.js';
export {
  dataAnswer,
  requestAnswer,
  dataAnswerSegment,
  requestAnswerSegment,
  answerFlag,
  isDataUpload,
  isAnswer,
  QnRtn,
  type QnRtnCode,
} from './answer.js';
export {
  mapPacket,
  companionTarget,
  DATA_COMMANDS,
  type Hj212Device,
  type MapOptions,
  type MapResult,
} from './mapping.js';
export { parseLocalTime, formatDataTime, formatQn, localToEpoch, zoneOffsetMs, isValidTimeZone } from './time.js';
export {
  Hj212ConfigSchema,
  Hj212DeviceSchema,
  Hj212KindSchema,
  HJ212_KINDS,
  DEFAULT_FACTORS,
  METRIC_KIND,
  factorMap,
  type Hj212Config,
  type Hj212ConfigInput,
  type Hj212DeviceConfig,
  type Hj212Kind,
} from './config.js';
export { Hj212Server, type Hj212Sink, type Hj212Stats, type Hj212Target, type Hj212ServerOptions } from './server.js';
