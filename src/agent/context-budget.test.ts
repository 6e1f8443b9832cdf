import { describe, expect, it } from 'vitest';
import { conversationTokens, KEEP_NEWEST_RESULTS, protectContext, shapeToolText } from './context-budget.ts';
import type { ConversationMessage } from './conversation.ts';

function page(index: number, chars: number): ConversationMessage[] {
  return [
    {
      role: 'assistant',
      text: '',
      toolCalls: [
        {
          id: `c${index}`,
          name: 'read_output',
          arguments: `{"output_id":"out_1","offset":${index * chars}}`,
        },
      ],
    },
    {
      role: 'tool',
      callId: `c${index}`,
      name: 'read_output',
      text: String(index % 10).repeat(chars),
      isError: false,
      elided: false,
      recall: `read it again with read_output {"output_id": "out_1", "offset": ${index * chars}}`,
    },
  ];
}

describe('the context budget', () => {
  it('elides the oldest tool results first, keeps the newest whole, and says how to get the rest back', () => {
    const messages: ConversationMessage[] = [{ role: 'user', text: 'read the log' }];
    for (let index = 0; index < 12; index += 1) messages.push(...page(index, 6000));
    const budget = 8000;
    expect(conversationTokens(2000, messages)).toBeGreaterThan(budget);
    const result = protectContext(2000, messages, budget);
    expect(result.elided).toBeGreaterThan(0);
    expect(result.after).toBeLessThanOrEqual(budget);
    expect(conversationTokens(2000, messages)).toBe(result.after);
    const tools = messages.filter((m) => m.role === 'tool');
    expect(tools.length).toBe(12);
    // The newest results are whole; the oldest is a note pointing at where it came from.
    for (const kept of tools.slice(-KEEP_NEWEST_RESULTS)) expect(kept.text).toHaveLength(6000);
    expect(tools[0]?.text).toBe(
      '[read_output result of 6000 characters elided to keep the context small; read it again with read_output {"output_id": "out_1", "offset": 0}]',
    );
    // Nothing is elided twice, and a conversation under budget is left alone.
    const again = protectContext(2000, messages, budget);
    expect(again.elided).toBe(0);
  });

  it('leaves a conversation under its budget untouched', () => {
    const messages = page(0, 100);
    const before = JSON.stringify(messages);
    expect(protectContext(0, messages, 10_000)).toMatchObject({ elided: 0 });
    expect(JSON.stringify(messages)).toBe(before);
  });

  it('cuts one oversized result to head and tail with a note on asking for less', () => {
    const text = `${'a'.repeat(5000)}MIDDLE${'z'.repeat(5000)}[next page: read_output {"offset": 10006}]`;
    const shaped = shapeToolText(text, 2000);
    expect(shaped.length).toBeLessThanOrEqual(2000);
    expect(shaped.startsWith('aaa')).toBe(true);
    expect(shaped.endsWith('[next page: read_output {"offset": 10006}]')).toBe(true);
    expect(shaped).not.toContain('MIDDLE');
    expect(shaped).toMatch(/characters left out here.*limit 1000/s);
    expect(shapeToolText('short', 2000)).toBe('short');
  });

  it('never splits a character made of two code units', () => {
    const text = '😀'.repeat(3000);
    const shaped = shapeToolText(text, 1001);
    expect(shaped).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });
});
