import { html } from '@nex/html'

/**
 * One message, as it is published to the room and appended to every open room page. The `html` tag
 * escapes the author and the text: `<img src=x onerror=…>` arrives as text, never as an element.
 */
export function chatMessage (author: string, text: string) {
  return html`<li data-testid="chat-message" class="message"><strong class="author" data-testid="chat-message-author">${author}</strong> <span class="text" data-testid="chat-message-text">${text}</span></li>`
}
