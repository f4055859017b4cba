import { describe, expect, it } from 'vitest';
import { createMemoryPromptTemplates } from '../../../shared/ai/prompt-templates.js';

const templates = createMemoryPromptTemplates([
  { id: 'welcome', version: 1, prompt: 'Hi {{ inputs.name }}' },
  { id: 'welcome', version: 3, prompt: 'Hello {{ inputs.name }}', system: 'Be warm.' },
  { id: 'welcome', version: 2, prompt: 'Hey {{ inputs.name }}' },
]);

describe('createMemoryPromptTemplates', () => {
  it('answers the asked version', async () => {
    expect(await templates.get('welcome', 2)).toMatchObject({ prompt: 'Hey {{ inputs.name }}' });
  });

  it('answers the highest version when none is asked', async () => {
    expect(await templates.get('welcome')).toMatchObject({ version: 3, system: 'Be warm.' });
  });

  it('throws NotFound for an unknown id or version', async () => {
    await expect(templates.get('goodbye')).rejects.toMatchObject({ code: 'NotFound', retryable: false });
    await expect(templates.get('welcome', 9)).rejects.toMatchObject({
      code: 'NotFound',
      message: "Prompt template 'welcome@9' was not found",
    });
  });
});
