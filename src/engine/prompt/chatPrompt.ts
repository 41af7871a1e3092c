// Explain Selection for models with a chat template (tokenizer_config.json's chat_template):
// the template renders one user message asking for an explanation, and the model answers as
// its assistant. Rendered with @huggingface/jinja, as transformers.js does.
import { Template } from '@huggingface/jinja';
import { tokenText } from '../tokenizer/detectFamily';

/** The prompt text of a chat turn asking to explain `code`; it ends where the assistant's answer starts. */
export function explainChatText(template: string, config: Readonly<Record<string, unknown>>, code: string, languageId: string | undefined): string {
  const lang = languageId && languageId !== 'plaintext' ? languageId : '';
  const content = `Explain what this ${lang ? `${lang} ` : ''}code does, briefly, in Markdown.\n\n\`\`\`${lang}\n${code.replace(/\s+$/, '')}\n\`\`\``;
  return new Template(template).render({
    messages: [{ role: 'user', content }],
    add_generation_prompt: true,
    bos_token: tokenText(config.bos_token) ?? '',
    eos_token: tokenText(config.eos_token) ?? '',
  });
}
