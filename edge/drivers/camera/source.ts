// What every camera source gives the camera link (link.ts): frames, and for a source that can tell, whether the
// camera is there (the rtsp source's stall detection).

export interface CapturedFrame {
  ts: number;
  image: Buffer;
}

/** Where frames come from; next() resolves with the next frame when it is due, or null when the source has ended. */
export interface FrameSource {
  next(): Promise<CapturedFrame | null>;
  stop(): void;
}

/** Called when a source finds its camera gone (online false, with the reason) or back (online true). */
export type SourceStatusListener = (online: boolean, reason: string) => void;
