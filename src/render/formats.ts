/** Output image formats, apart from the encoder so --help lists them without loading sharp. */
/** `png` keeps indices + palette (re-colourable), the others are plain RGB. */
export const IMAGE_FORMATS = ['png', 'rgb-png', 'jpeg'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export const EXTENSION: Record<ImageFormat, string> = { png: '.png', 'rgb-png': '.png', jpeg: '.jpg' };
