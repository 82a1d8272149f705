// Licence-plate reading for enforcement events (see README.md).
export { PlateReader, PlateReaderOptionsSchema, type PlateReaderOptions, type PlateReading } from './plate-reader.js';
export {
  comparePlates,
  CONFIDENT_PLATE,
  extractPlate,
  isPlateText,
  normalisePlateText,
  plateKey,
} from './plate-text.js';
export type { PlateColour } from './localise.js';
