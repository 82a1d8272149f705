// A manifest row and a detection made up for the real-photo evaluation's tests: every count 0 unless given.
import type { Detection } from '../../detectors/types.js';
import type { ManifestRow } from '../real-images.js';

export const manifestRow = (o: Partial<ManifestRow> = {}): ManifestRow => ({
  file: 'x.jpg',
  source_repo: '',
  source_path: '',
  licence: '',
  width: 1,
  height: 1,
  cars: 0,
  buses: 0,
  trucks: 0,
  motorcycles: 0,
  bicycles: 0,
  people: 0,
  stall_objects: 'no',
  notes: '',
  ...o,
});

export const detection = (className: string, score = 0.9, role: Detection['role'] = null): Detection => ({
  box: [0, 0, 1, 1],
  score,
  classId: 0,
  className,
  role,
});
