/**
 * A command's full output, kept by the server when what the model saw was truncated: read one page,
 * walk every page, or read it all.
 */
import { invalidResponse } from './errors.ts';
import type { CallOptions } from './signals.ts';
import type { Transport } from './transport.ts';
import { describeRequest } from './url.ts';
import type { OutputPage, OutputStream } from './wire-types.ts';

export interface OutputReadOptions extends CallOptions {
  /** Default stdout. */
  readonly stream?: OutputStream;
  /** In characters; default 0. */
  readonly offset?: number;
  /** Most characters in the page; the server's default when left out. */
  readonly limit?: number;
}

/** For walking pages: `timeoutMs` bounds each page's request, `signal` stops the walk. */
export type OutputPagesOptions = OutputReadOptions;

export class Outputs {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  read(outputId: string, options: OutputReadOptions = {}): Promise<OutputPage> {
    return this.#transport.json<OutputPage>(
      {
        method: 'GET',
        path: ['v1', 'outputs', outputId],
        query: { stream: options.stream, offset: options.offset, limit: options.limit },
      },
      options,
    );
  }

  /** Every page from `offset` to the end, in order. */
  async *pages(
    outputId: string,
    options: OutputPagesOptions = {},
  ): AsyncGenerator<OutputPage, void, undefined> {
    let offset = options.offset ?? 0;
    for (;;) {
      const page = await this.read(outputId, { ...options, offset });
      yield page;
      if (page.nextOffset === null) return;
      // A server that does not move forward would make this loop forever.
      if (page.nextOffset <= offset) {
        throw invalidResponse(
          describeRequest('GET', ['v1', 'outputs', outputId]),
          200,
          `nextOffset ${page.nextOffset} does not move past offset ${offset}`,
        );
      }
      offset = page.nextOffset;
    }
  }

  /** The whole stored stream as one string. */
  async readAll(outputId: string, options: OutputPagesOptions = {}): Promise<string> {
    let text = '';
    for await (const page of this.pages(outputId, options)) text += page.text;
    return text;
  }
}
