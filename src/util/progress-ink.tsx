import { Box, Text, render, type Instance } from 'ink';
import { describe, type Progress, type ProgressState } from './progress.js';

function Bar({ state, width }: { state: ProgressState; width: number }) {
  const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 1;
  const filled = Math.round(fraction * width);
  return (
    <Box>
      <Text color="green">{'█'.repeat(filled)}</Text>
      <Text dimColor>{'░'.repeat(width - filled)}</Text>
      <Text> {describe(state)}</Text>
    </Box>
  );
}

/** An ink progress bar on stderr, redrawn at most every 100 ms. */
export class InkProgress implements Progress {
  private state: ProgressState | undefined;
  private instance: Instance | undefined;
  private lastDraw = 0;

  start(label: string, total: number, unit = 'samples'): void {
    this.finish();
    this.state = { label, done: 0, total, unit, startedAt: Date.now() };
    this.instance = render(<Bar state={{ ...this.state }} width={30} />, { stdout: process.stderr as NodeJS.WriteStream, patchConsole: false });
  }

  advance(count = 1): void {
    if (!this.state || !this.instance) return;
    this.state.done += count;
    const now = Date.now();
    if (now - this.lastDraw > 100 || this.state.done >= this.state.total) {
      this.lastDraw = now;
      this.instance.rerender(<Bar state={{ ...this.state }} width={30} />);
    }
  }

  log(message: string): void {
    process.stderr.write(`${message}\n`);
  }

  finish(): void {
    if (this.instance && this.state) {
      this.instance.rerender(<Bar state={{ ...this.state }} width={30} />);
      this.instance.unmount();
    }
    this.instance = undefined;
    this.state = undefined;
  }
}
