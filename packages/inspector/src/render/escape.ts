/**
 * Escapes text for HTML element content and quoted attribute values: `& < > " '` become
 * character references, and control characters (other than tab and newline) become U+FFFD.
 * Every piece of text that comes from a log goes through this: the log is untrusted.
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd')
    .replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}
