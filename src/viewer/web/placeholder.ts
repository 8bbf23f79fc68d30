/**
 * Sample images the server cannot decode (a 0-byte or truncated file, a file that is no image,
 * a symlink loop) answer 422 with a JSON reason. An <img> only sees "failed", so every such image,
 * wherever it is (strip, hover card, sample view), is swapped for a placeholder and its tooltip and
 * accessible name say why, read from the 422's body.
 */

const PLACEHOLDER =
  'data:image/svg+xml,' +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#8884"/><path d="M18 18l28 28M46 18L18 ' +
      '46" stroke="#888" stroke-width="4" stroke-linecap="round"/></svg>',
  );

async function reasonOf(url: string): Promise<string> {
  try {
    const response = await fetch(url);
    const body = (await response.json()) as { errorMessage?: unknown };
    return typeof body.errorMessage === 'string' ? body.errorMessage : `HTTP ${response.status}`;
  } catch {
    return 'the image could not be loaded';
  }
}

/** Installs one capturing listener for the whole page (image errors do not bubble). */
export function installImagePlaceholders(): void {
  document.addEventListener(
    'error',
    (event) => {
      const img = event.target;
      if (!(img instanceof HTMLImageElement) || img.src.startsWith('data:') || !img.src.includes('/images/')) return;
      const failed = img.src;
      img.classList.add('undecodable');
      img.dataset.failedSrc = failed;
      img.src = PLACEHOLDER;
      img.alt = 'image cannot be shown';
      void reasonOf(failed).then((reason) => {
        // The element may have moved on to another sample meanwhile.
        if (img.dataset.failedSrc !== failed) return;
        img.title = reason;
        img.alt = `image cannot be shown: ${reason}`;
      });
    },
    true,
  );
  // A later successful image on the same element clears the mark.
  document.addEventListener(
    'load',
    (event) => {
      const img = event.target;
      if (img instanceof HTMLImageElement && !img.src.startsWith('data:') && img.classList.contains('undecodable')) {
        img.classList.remove('undecodable');
        delete img.dataset.failedSrc;
        img.removeAttribute('title');
      }
    },
    true,
  );
}
