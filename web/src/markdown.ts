// Instructions are Markdown written by teachers: rendered with marked, then sanitized (DOMPurify) before
// they reach the page.
import DOMPurify from "dompurify";
import { marked } from "marked";

export function renderMarkdown(text: string): string {
  const html = marked.parse(text ?? "", { async: false, gfm: true }) as string;
  return DOMPurify.sanitize(html);
}
