/**
 * A reader that goes away (`leakhunt run --json | head`) closes the pipe under leakhunt. Node
 * reports that as an EPIPE error on the stream, which, unhandled, ends the process with a stack
 * trace in the middle of a run. Here the rest of the output is dropped quietly instead: the
 * command goes on to its end, so a run still finishes with its cleanup and never leaves the
 * target tagged or halted. A terminal that closed (SIGHUP) fails writes with EIO: the same.
 */

/** Drop a stream's further output once its reader has gone (EPIPE, or EIO from a closed terminal); any other error is rethrown. */
export function dropOutputOnBrokenPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'EIO') throw error;
    stream.write = (() => true) as typeof stream.write;
  });
}
