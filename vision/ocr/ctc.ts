// CTC greedy decoding of a PP-OCR recogniser's output: per time step the most likely class; repeats collapse,
// blanks separate. PaddleOCR's character list is: index 0 the CTC blank, then one class per line of the
// dictionary file, then (use_space_char) a space.

export interface CtcDictionary {
  /** Class index → character; index 0 (blank) is ''. */
  chars: string[];
}

/**
 * The class list for a dictionary file's text and the model's class count, checking they belong together:
 * classes = 1 (blank) + lines + 1 (space), or without the space. Throws Error saying what does not fit.
 */
export function ctcDictionary(fileText: string, modelClasses: number): CtcDictionary {
  const lines = fileText.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (modelClasses === lines.length + 2) return { chars: ['', ...lines, ' '] };
  if (modelClasses === lines.length + 1) return { chars: ['', ...lines] };
  throw new Error(
    `the dictionary has ${lines.length} characters but the model outputs ${modelClasses} classes (expected ${lines.length + 2}: blank, the characters, space)`,
  );
}

export interface CtcChar {
  char: string;
  /** The class's probability at the step where it was emitted (the max of that step). */
  prob: number;
  /** Time step, for locating the character along the text line. */
  step: number;
}

/** probs: [T, K] row-major softmax output. */
export function ctcGreedy(probs: Float32Array, steps: number, classes: number, dict: CtcDictionary): CtcChar[] {
  const out: CtcChar[] = [];
  let prev = 0;
  for (let t = 0; t < steps; t++) {
    const row = t * classes;
    let best = 0;
    let bestP = probs[row]!;
    for (let k = 1; k < classes; k++) {
      const p = probs[row + k]!;
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    if (best !== 0 && best !== prev) out.push({ char: dict.chars[best] ?? '', prob: bestP, step: t });
    prev = best;
  }
  return out;
}
