// Answer frames of HJ 212-2017, without I/O. The platform answers as "system interaction" (ST=91), echoing the
// request's QN (how the monitor matches the answer to what it sent), PW and MN:
//   9014 data answer (数据应答)     QN=…;ST=91;CN=9014;PW=…;MN=…;Flag=4;CP=&&&&
//   9011 request answer (请求应答)  QN=…;ST=91;CN=9011;PW=…;MN=…;Flag=4;CP=&&QnRtn=1&&
// The answer's Flag keeps the request's version bits (2–7) and clears "answer wanted" and "split": an answer is never
// answered.
import { encodeFrame } from './frame.js';
import type { Hj212Packet } from './packet.js';

/** QnRtn of a 9011 answer (HJ 212-2017, request return codes). */
export const QnRtn = {
  ready: 1, // 准备执行请求: the request is accepted
  rejected: 2, // 请求被拒绝
  wrongPw: 3, // PW 错误
  wrongMn: 4, // MN 错误
  wrongSt: 5, // ST 错误
  wrongFlag: 6, // Flag 错误
  wrongQn: 7, // QN 错误
  wrongCn: 8, // CN 错误
  wrongCrc: 9, // CRC 校验错误
  unknown: 100, // 未知错误
} as const;
export type QnRtnCode = (typeof QnRtn)[keyof typeof QnRtn];

type Request = Pick<Hj212Packet, 'qn' | 'pw' | 'mn' | 'flag'>;

/** Flag of an answer: the request's version bits, or 4 (HJ 212-2017) when the request had no Flag. */
export function answerFlag(requestFlag: number | undefined): number {
  return requestFlag === undefined ? 4 : requestFlag & ~0b11;
}

function head(req: Request, cn: string): string {
  const qn = req.qn !== undefined ? `QN=${req.qn};` : '';
  return `${qn}ST=91;CN=${cn};PW=${req.pw ?? ''};MN=${req.mn};Flag=${answerFlag(req.flag)}`;
}

/** The data segment of a 9014 data answer. */
export function dataAnswerSegment(req: Request): string {
  return `${head(req, '9014')};CP=&&&&`;
}

/** The data segment of a 9011 request answer. */
export function requestAnswerSegment(req: Request, qnRtn: QnRtnCode): string {
  return `${head(req, '9011')};CP=&&QnRtn=${qnRtn}&&`;
}

export const dataAnswer = (req: Request): Buffer => encodeFrame(dataAnswerSegment(req));
export const requestAnswer = (req: Request, qnRtn: QnRtnCode): Buffer => encodeFrame(requestAnswerSegment(req, qnRtn));

/** Uploads of monitoring data (2xxx: real-time, minute, hourly, daily, device state, …) are answered with 9014. */
export const isDataUpload = (cn: string | undefined): boolean => cn !== undefined && /^2\d{3}$/.test(cn);

/** Answers (90xx) are never answered, or two sides could answer each other for ever. */
export const isAnswer = (cn: string | undefined): boolean => cn !== undefined && /^90\d{2}$/.test(cn);
